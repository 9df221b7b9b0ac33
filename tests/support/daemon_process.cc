#include "tests/support/daemon_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

extern char** environ;

namespace safestream::testing {

DaemonProcess::DaemonProcess(std::string binary, std::vector<std::string> args, std::map<std::string, std::string> env)
    : binary_(std::move(binary)), args_(std::move(args)), env_(std::move(env)) {
  static int counter = 0;
  const auto slash = binary_.find_last_of('/');
  log_ = "/tmp/safestream-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         binary_.substr(slash == std::string::npos ? 0 : slash + 1) + ".log";
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) kill();
}

void DaemonProcess::start() {
  if (pid_ > 0 && running()) throw std::runtime_error(binary_ + " is already running");
  std::vector<std::string> envStrings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (!env_.count(kv.substr(0, kv.find('=')))) envStrings.push_back(kv);
  }
  for (const auto& [k, v] : env_) envStrings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : envStrings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> all{binary_};
  all.insert(all.end(), args_.begin(), args_.end());
  for (auto& s : all) argv.push_back(s.data());
  argv.push_back(nullptr);
  int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(fd);
  pid_ = pid;
}

bool DaemonProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int DaemonProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  return -1;
}

void DaemonProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void DaemonProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}
void DaemonProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

bool DaemonProcess::waitHealthy(const std::string& url, std::chrono::milliseconds timeout) {
  return waitUntil([&] { return running() ? httpGet(url, 2).first == 200 : true; }, timeout,
                   std::chrono::milliseconds(100)) &&
         running();
}

std::string DaemonProcess::logTail(std::size_t bytes) const {
  std::ifstream in(log_);
  std::stringstream s;
  s << in.rdbuf();
  std::string all = s.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

void loadStackEnvIntoProcess() {
  for (const char* name :
       {"SAFESTREAM_KAFKA_BOOTSTRAP", "SAFESTREAM_PG_URL", "SAFESTREAM_ANALYST_PG_URL", "SAFESTREAM_REDIS_URL",
        "SAFESTREAM_S3_ENDPOINT", "SAFESTREAM_S3_BUCKET", "SAFESTREAM_S3_REGION", "SAFESTREAM_S3_ACCESS_KEY",
        "SAFESTREAM_S3_SECRET_KEY", "SAFESTREAM_RUN_DIR", "SAFESTREAM_PROMETHEUS_URL"}) {
    if (auto v = stackEnv(name)) ::setenv(name, v->c_str(), 0);
  }
}

int freePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

std::pair<int, std::string> httpGet(const std::string& url, int timeoutSeconds) {
  auto r = runCommand("curl -s -m " + std::to_string(timeoutSeconds) + " -w '\\n%{http_code}' '" + url + "'",
                      timeoutSeconds + 5);
  auto nl = r.output.find_last_of('\n');
  if (nl == std::string::npos) return {0, r.output};
  int status = std::atoi(r.output.c_str() + nl + 1);
  return {status, r.output.substr(0, nl)};
}

}  // namespace safestream::testing
