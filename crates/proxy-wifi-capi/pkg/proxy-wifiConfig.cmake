# CMake package config of proxy-wifi's C ABI: find_package(proxy-wifi) gives the target
# proxy-wifi::proxy-wifi (shared library, include directory with proxy_wifi.h/.hpp).
# Installed by crates/proxy-wifi-capi/install.sh as PREFIX/lib/cmake/proxy-wifi/.
get_filename_component(_proxy_wifi_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

find_path(PROXY_WIFI_INCLUDE_DIR proxy_wifi.h PATHS "${_proxy_wifi_prefix}/include" NO_DEFAULT_PATH)
if(WIN32)
  find_library(PROXY_WIFI_IMPLIB NAMES proxy_wifi_capi.dll proxy_wifi_capi.dll.lib libproxy_wifi_capi.dll.a
               PATHS "${_proxy_wifi_prefix}/lib" NO_DEFAULT_PATH)
  find_file(PROXY_WIFI_LIBRARY proxy_wifi_capi.dll PATHS "${_proxy_wifi_prefix}/bin" "${_proxy_wifi_prefix}/lib" NO_DEFAULT_PATH)
else()
  find_library(PROXY_WIFI_LIBRARY NAMES proxy_wifi_capi PATHS "${_proxy_wifi_prefix}/lib" NO_DEFAULT_PATH)
endif()

include(FindPackageHandleStandardArgs)
if(WIN32)
  find_package_handle_standard_args(proxy-wifi REQUIRED_VARS PROXY_WIFI_LIBRARY PROXY_WIFI_IMPLIB PROXY_WIFI_INCLUDE_DIR)
else()
  find_package_handle_standard_args(proxy-wifi REQUIRED_VARS PROXY_WIFI_LIBRARY PROXY_WIFI_INCLUDE_DIR)
endif()

if(proxy-wifi_FOUND AND NOT TARGET proxy-wifi::proxy-wifi)
  add_library(proxy-wifi::proxy-wifi SHARED IMPORTED)
  set_target_properties(proxy-wifi::proxy-wifi PROPERTIES
    IMPORTED_LOCATION "${PROXY_WIFI_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${PROXY_WIFI_INCLUDE_DIR}")
  if(WIN32)
    set_target_properties(proxy-wifi::proxy-wifi PROPERTIES IMPORTED_IMPLIB "${PROXY_WIFI_IMPLIB}")
  endif()
endif()
unset(_proxy_wifi_prefix)
