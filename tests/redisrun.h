/*
 * redisrun — test fixture: a real redis-server (Debian's) on 127.0.0.1 and a
 * free port, with its files in a directory the test owns. Started and
 * stopped by the test; never the machine's own Redis.
 */
#ifndef IOTIDS_TESTS_REDISRUN_H
#define IOTIDS_TESTS_REDISRUN_H

#include <stdbool.h>
#include <sys/types.h>

#include <hiredis.h>

struct redisrun {
	pid_t pid;         /* 0 when not running */
	int port;
	char dir[200];     /* its working directory: AOF, log */
	bool persist;      /* append-only file, fsync always: survives a kill */
};

/* A TCP port on 127.0.0.1 nothing listens on right now. */
int redisrun_free_port(void);
/* Starts a server in dir (which must exist) on a free port, or on r->port
 * when it is not 0, and waits until it answers PING. Asserts on failure. */
void redisrun_start(struct redisrun *r, const char *dir, bool persist);
/* SIGKILL, as a crash: nothing is flushed that was not already. */
void redisrun_kill(struct redisrun *r);
/* SIGTERM and wait; a no-op when not running. */
void redisrun_stop(struct redisrun *r);
/* A connection to it (asserts). */
redisContext *redisrun_connect(const struct redisrun *r);
/* Runs one command (printf-style, as redisCommand) and asserts it worked. */
redisReply *redisrun_cmd(redisContext *c, const char *fmt, ...);

#endif
