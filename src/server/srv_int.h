/* srv_int.h: what the server module's files share. */
#ifndef SD_SRV_INT_H
#define SD_SRV_INT_H

#include "server/srv.h"

/* Prints `sealdisk server --help` to stdout. */
void srv__usage(void);

#endif
