# cmake -DSRC=<web/> -DOUT=<build/web> -P stage.cmake
# Copies the app's source and the vendored runtime files. Without
# node_modules (install-deps.sh not run) the app is staged without its
# libraries and a warning says how to fix it; the C++ build goes on.
file(COPY ${SRC}/src/ DESTINATION ${OUT})
set(missing "")
foreach(pair "leaflet/dist/leaflet.js=leaflet" "leaflet/dist/leaflet.css=leaflet" "leaflet/LICENSE=leaflet"
             "chart.js/dist/chart.umd.min.js=chart.js" "chart.js/LICENSE.md=chart.js")
  string(REPLACE "=" ";" parts "${pair}")
  list(GET parts 0 from)
  list(GET parts 1 to)
  if(EXISTS ${SRC}/node_modules/${from})
    file(COPY ${SRC}/node_modules/${from} DESTINATION ${OUT}/vendor/${to})
  else()
    list(APPEND missing ${from})
  endif()
endforeach()
if(EXISTS ${SRC}/node_modules/leaflet/dist/images)
  file(COPY ${SRC}/node_modules/leaflet/dist/images DESTINATION ${OUT}/vendor/leaflet)
endif()
if(missing)
  message(WARNING "web: ${missing} missing from web/node_modules; run deploy/local/install-deps.sh (the app needs them)")
endif()
