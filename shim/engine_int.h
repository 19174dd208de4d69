/* engine_int.h - between the supervisor's loop (engine_super.c) and its
 * handlers of trapped calls (engine_io.c, engine_sock.c). */
#ifndef FORCECLOSE_ENGINE_INT_H
#define FORCECLOSE_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/seccomp.h>

extern int engine_listener;
extern unsigned engine_base;

/* Handles one notification and replies to it (or lets it go on). */
void engine_handle(const struct seccomp_notif *n);

/* The supervisor's duplicate of the notifying thread's descriptor fd, or
 * -errno (-EBADF: no such descriptor). */
int engine_target_fd(const struct seccomp_notif *n, int fd);

/* The notification is still waiting for its reply (the thread lives). */
bool engine_valid(const struct seccomp_notif *n);

/* Replies: a result (err 0) or an error (a positive errno). */
void engine_reply(const struct seccomp_notif *n, long val, int err);

/* Lets the call go on in the kernel, untouched. */
void engine_continue(const struct seccomp_notif *n);

/* The calling worker may now wait for a socket: make sure another one
 * is free to answer meanwhile. */
void engine_may_block(void);

/* A new AF_INET/AF_INET6 stream socket for the program (engine_sock.c). */
void engine_socket(const struct seccomp_notif *n);

#endif
