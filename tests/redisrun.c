/*
 * redisrun — see redisrun.h. The server runs in the foreground as our
 * child, so a kill and a waitpid are all it takes to stop it.
 */
#include "tests/redisrun.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int redisrun_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool answers_ping(int port)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	bool ok = false;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "PING");
		ok = r && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	redisFree(c);
	return ok;
}

static pid_t spawn(const struct redisrun *r)
{
	char port[16], log[260];
	snprintf(port, sizeof(port), "%d", r->port);
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* Only stdio: a pipe the test writes must see EOF when the test closes it. */
		closefrom(3);
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", r->dir,
		       "--save", "", "--appendonly", r->persist ? "yes" : "no", "--appendfsync", "always",
		       "--daemonize", "no", "--logfile", log, "--protected-mode", "yes", (char *)NULL);
		_exit(127);
	}
	return pid;
}

void redisrun_start(struct redisrun *r, const char *dir, bool persist)
{
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->persist = persist;
	bool fixed = r->port != 0;
	/* A port found free may be taken before the server binds it: try
	 * another (unless the test needs this one). */
	for (int attempt = 0; attempt < 5; attempt++) {
		if (!fixed)
			r->port = redisrun_free_port();
		r->pid = spawn(r);
		/* Waits for readiness, not for a time limit: up to 20 s. */
		for (int i = 0; i < 1000; i++) {
			int st;
			if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
				r->pid = 0;
				break;
			}
			if (answers_ping(r->port))
				return;
			nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
		}
		redisrun_stop(r);
	}
	cr_assert_fail("redis-server did not start on 127.0.0.1:%d (see %s/redis.log)", r->port, r->dir);
}

void redisrun_kill(struct redisrun *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

void redisrun_stop(struct redisrun *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

redisContext *redisrun_connect(const struct redisrun *r)
{
	redisContext *c = redisConnect("127.0.0.1", r->port);
	cr_assert(c && !c->err, "cannot connect to the test's redis on %d", r->port);
	return c;
}

redisReply *redisrun_cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r, "redis: %s", c->errstr);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "redis %s: %s", fmt, r->str);
	return r;
}
