/* confdefs.h */
#define PACKAGE_NAME "vhost-device-c"
#define PACKAGE_TARNAME "vhost-device-c"
#define PACKAGE_VERSION "0.1.0"
#define PACKAGE_STRING "vhost-device-c 0.1.0"
#define PACKAGE_BUGREPORT ""
#define PACKAGE_URL ""
#define PACKAGE "vhost-device-c"
#define VERSION "0.1.0"
