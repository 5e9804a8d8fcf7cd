/*
 * Tests for detector/publisher.c that need no Redis: the URL parser and how
 * a URL is shown. Delivery itself is tested against a real redis-server in
 * tests/test_redis.c.
 */
#include "detector/publisher.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static struct pub_url parsed(const char *text)
{
	struct pub_url u;
	char err[512] = "";
	cr_assert_eq(pub_url_parse(text, &u, err, sizeof(err)), 0, "%s: %s", text, err);
	return u;
}

static void refused(const char *text, const char *says)
{
	struct pub_url u;
	char err[512] = "";
	cr_assert_eq(pub_url_parse(text, &u, err, sizeof(err)), -EINVAL, "%s was accepted", text);
	cr_expect(strstr(err, says) != NULL, "%s: %s", text, err);
}

Test(publisher, a_bare_host_gets_the_default_port_and_database)
{
	struct pub_url u = parsed("redis://127.0.0.1");
	cr_expect_str_eq(u.host, "127.0.0.1");
	cr_expect_eq(u.port, 6379);
	cr_expect_eq(u.db, 0);
	cr_expect(!u.unix_socket && !u.has_password && !u.user[0]);
}

Test(publisher, user_password_port_and_database_are_all_read)
{
	struct pub_url u = parsed("redis://gw-7:s3cr%40t%3Ax@redis.lan:6380/3");
	cr_expect_str_eq(u.user, "gw-7");
	cr_expect_str_eq(u.password, "s3cr@t:x");
	cr_expect(u.has_password);
	cr_expect_str_eq(u.host, "redis.lan");
	cr_expect_eq(u.port, 6380);
	cr_expect_eq(u.db, 3);
}

Test(publisher, a_password_alone_is_the_classic_form)
{
	struct pub_url u = parsed("redis://:hunter2@localhost");
	cr_expect_str_eq(u.password, "hunter2");
	cr_expect_str_eq(u.user, "");
	u = parsed("redis://hunter2@localhost/1");
	cr_expect_str_eq(u.password, "hunter2");
	cr_expect_str_eq(u.user, "");
	cr_expect_eq(u.db, 1);
}

Test(publisher, an_ipv6_host_is_written_in_brackets)
{
	struct pub_url u = parsed("redis://[fd00::1]:7000");
	cr_expect_str_eq(u.host, "fd00::1");
	cr_expect_eq(u.port, 7000);
	char shown[256];
	pub_url_format(&u, shown, sizeof(shown));
	cr_expect_str_eq(shown, "redis://[fd00::1]:7000");
}

Test(publisher, a_unix_socket_takes_a_path_and_an_optional_database)
{
	struct pub_url u = parsed("unix:///run/redis/redis.sock");
	cr_expect(u.unix_socket);
	cr_expect_str_eq(u.host, "/run/redis/redis.sock");
	u = parsed("unix://gw:pw@/run/redis/redis.sock?db=2");
	cr_expect_str_eq(u.user, "gw");
	cr_expect_str_eq(u.password, "pw");
	cr_expect_eq(u.db, 2);
	cr_expect_str_eq(u.host, "/run/redis/redis.sock");
}

Test(publisher, bad_urls_are_refused_with_what_is_wrong)
{
	refused("http://127.0.0.1", "unknown scheme");
	refused("127.0.0.1:6379", "unknown scheme");
	refused("rediss://127.0.0.1", "TLS");
	refused("redis://", "no host");
	refused("redis://host:0", "bad port");
	refused("redis://host:65536", "bad port");
	refused("redis://host:63a", "bad port");
	refused("redis://host/x", "database number");
	refused("redis://[fd00::1", "unclosed");
	refused("redis://u:p%4@host", "bad password");
	refused("redis://u:p%00@host", "bad password");
	refused("redis://host?x=1", "after the host");
	refused("unix://run/redis.sock", "absolute path");
	refused("unix:///run/redis.sock?database=1", "?db=N");
}

Test(publisher, a_refusal_never_quotes_the_password)
{
	struct pub_url u;
	char err[512];
	cr_assert_eq(pub_url_parse("redis://u:topsecret%zz@host", &u, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "topsecret") == NULL, "%s", err);
}

Test(publisher, the_url_is_shown_with_the_password_hidden)
{
	char shown[256];
	struct pub_url u = parsed("redis://gw:topsecret@10.0.0.2:6380/4");
	pub_url_format(&u, shown, sizeof(shown));
	cr_expect_str_eq(shown, "redis://gw:***@10.0.0.2:6380/4");
	u = parsed("unix://:pw@/run/r.sock?db=5");
	pub_url_format(&u, shown, sizeof(shown));
	cr_expect_str_eq(shown, "unix://:***@/run/r.sock?db=5");
}

Test(publisher, a_bad_prefix_or_gateway_id_is_refused_before_connecting)
{
	struct pub_config c;
	struct publisher *p = NULL;
	char err[512];
	pub_config_defaults(&c);
	c.url = "redis://127.0.0.1:1";
	c.spool.dir = "/nonexistent/iotids-test-spool";
	c.prefix = "iot ids";
	cr_expect_eq(publisher_new(&c, &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "key prefix") != NULL, "%s", err);
	c.prefix = "iotids";
	c.gateway_id = "gw\n1";
	cr_expect_eq(publisher_new(&c, &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "gateway id") != NULL, "%s", err);
	c.gateway_id = "gw1";
	c.user = "gw";
	cr_expect_eq(publisher_new(&c, &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "has no password") != NULL, "%s", err);
	cr_expect_null(p);
}
