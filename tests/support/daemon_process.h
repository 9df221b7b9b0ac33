#pragma once
// Starts one of the project's daemons as a child process for a test, with
// extra environment, its output in a log file, and stop (SIGTERM) / kill
// (SIGKILL) / restart. The destructor kills what is still running.
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace safestream::testing {

class DaemonProcess {
 public:
  // `binary` is a path (see binaryPath()); `env` is added to the test's own
  // environment (which already has the stack's SAFESTREAM_* from the env file
  // when loadStackEnvIntoProcess() was called).
  DaemonProcess(std::string binary, std::vector<std::string> args, std::map<std::string, std::string> env = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  void start();
  // SIGTERM and wait; returns the exit code (-1 if it had to be killed).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill();  // SIGKILL and reap
  void pause();   // SIGSTOP
  void resume();  // SIGCONT
  bool running();
  // Polls GET url until 200 or the timeout; false if the process died.
  bool waitHealthy(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string logPath() const { return log_; }
  std::string logTail(std::size_t bytes = 4000) const;
  int pid() const { return pid_; }

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::map<std::string, std::string> env_;
  std::string log_;
  int pid_ = -1;
};

// Copies every variable of the stack's env file into this process's
// environment (without overriding what is already set), so daemons started
// by tests find the stack.
void loadStackEnvIntoProcess();

// A TCP port on 127.0.0.1 that was free a moment ago.
int freePort();

// GET http://127.0.0.1... with a timeout; returns {status, body}, status 0 on failure.
std::pair<int, std::string> httpGet(const std::string& url, int timeoutSeconds = 5);

}  // namespace safestream::testing
