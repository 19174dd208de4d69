/* engine_int.h - between the supervisor's loop (engine_super.c) and its
 * handlers of trapped calls (engine_io.c, engine_sock.c). */
#ifndef FORCECLOSE_ENGINE_INT_H
#define FORCECLOSE_ENGINE_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/seccomp.h>

extern int engine_listener;
extern unsigned engine_base;
extern pid_t engine_program;	/* the program's PID (the launcher's) */

/* Handles one notification and replies to it (or lets it go on). */
void engine_handle(const struct seccomp_notif *n);

/* The supervisor's duplicate of the notifying thread's descriptor fd, or
 * -errno (-EBADF: no such descriptor). */
int engine_target_fd(const struct seccomp_notif *n, int fd);

/* An errno that says the supervisor itself ran out of descriptors or
 * memory (its RLIMIT_NOFILE, the system's file table). */
static inline bool out_of_room(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* Says so on stderr, once per supervisor (what: what the engine does). */
void engine_out_of_room(const char *what);

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

/* FORCECLOSE_ACTION=close (engine_sock.c): the placeholder, made once
 * at start; the swap of the torn-down socket at the program's number fd
 * (d: the supervisor's duplicate, *c its state; both released on
 * success, *c then the placeholder's) - the placeholder's duplicate, or
 * -1 when the socket stays. */
struct econn;
void engine_dead_init(void);
int engine_swap_dead(const struct seccomp_notif *n, int fd, int d,
		     struct econn **c);

#endif
