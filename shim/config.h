/* config.h - settings read once from the environment at load. */
#ifndef FORCECLOSE_CONFIG_H
#define FORCECLOSE_CONFIG_H

#include <stdbool.h>

struct config {
	int action;		/* enum conn_action */
	bool disabled;		/* pass everything through untouched */
};

extern struct config config;

void config_load(void);

#endif
