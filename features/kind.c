/*
 * kind — a device's kind from its identity evidence (see kind.h for the
 * signal table and the scoring).
 *
 * Self-descriptions (hostnames, mDNS instance labels and models, SSDP
 * headers) are folded to lower-case letters and digits before matching, so
 * "Galaxy-Tab", "galaxy_tab" and "GalaxyTab" are one spelling; a keyword
 * marked "word" must start where a word does (after punctuation, at a
 * lower-to-upper or digit-to-letter change), so "tv" matches "[TV] Samsung"
 * and "LivingRoomTV" but not "atv3", and "nas" matches "NAS-01" but not
 * "Jonas-PC". When several keywords match one value the longest wins: it is
 * the most specific ("lightswitch" is a plug, "lightify" a hub, "Camerons-
 * iPhone" a phone).
 *
 * Rejected: a trained classifier (opaque, and nothing to train it on that
 * matches real homes), and exact DHCP fingerprint tables (Fingerbank has
 * tens of thousands, and they change with every OS release).
 *
 * Cost: at most IDENT_MAX_EVIDENCE values, each folded once into a stack
 * buffer and scanned by the keyword table, plus IDENT_MAX_NAMES names
 * against the domain table; no allocation.
 */
#include "features/kind.h"

#include <stdint.h>
#include <string.h>

#include "features/identity.h"
#include "features/intern.h"
#include "features/oui.h"

#define KINDS(X)                                                                                                 \
	X(CAMERA, "camera")                                                                                      \
	X(PLUG, "plug")                                                                                          \
	X(LIGHT, "light")                                                                                        \
	X(THERMOSTAT, "thermostat")                                                                              \
	X(SENSOR, "sensor")                                                                                      \
	X(VOICE, "voice_assistant")                                                                              \
	X(SPEAKER, "speaker")                                                                                    \
	X(TV, "tv")                                                                                              \
	X(HUB, "hub")                                                                                            \
	X(PRINTER, "printer")                                                                                    \
	X(NAS, "nas")                                                                                            \
	X(ROUTER, "router")                                                                                      \
	X(PHONE, "phone")                                                                                        \
	X(TABLET, "tablet")                                                                                      \
	X(COMPUTER, "computer")                                                                                  \
	X(CONSOLE, "game_console")                                                                               \
	X(VACUUM, "vacuum")                                                                                      \
	X(APPLIANCE, "appliance")                                                                                \
	X(UNKNOWN, "unknown") /* last: never scored */

#define KIND_ENUM(id, name) K_##id,
enum kind_id { KINDS(KIND_ENUM) K_COUNT };
#undef KIND_ENUM

#define KIND_NAME(id, name) name,
static const char *const kind_names[] = {KINDS(KIND_NAME)};
#undef KIND_NAME

enum { WEAK = 1, MEDIUM = 4, STRONG = 8 };

/* Independent sources: a kind keeps its strongest signal in each. */
enum group { G_NAME, G_MODEL, G_SERVICE, G_SSDP, G_DHCP, G_DEST, G_MAC, G_COUNT };

struct signal {
	const char *pat;
	uint8_t kind;
	uint8_t weight;
	bool word; /* keywords only: must start a word */
};

/* Keywords, folded (lower-case letters and digits; '#' is any digit). */
#define WD(p, k, w) {p, K_##k, w, true}
#define AN(p, k, w) {p, K_##k, w, false}
static const struct signal keywords[] = {
	/* names operating systems give themselves */
	AN("iphone", PHONE, STRONG), AN("ipad", TABLET, STRONG), AN("kindle", TABLET, STRONG),
	AN("galaxytab", TABLET, STRONG), AN("macbook", COMPUTER, STRONG), WD("imac", COMPUTER, STRONG),
	AN("macmini", COMPUTER, STRONG), AN("thinkpad", COMPUTER, STRONG), AN("xbox", CONSOLE, STRONG),
	AN("playstation", CONSOLE, STRONG), WD("ps4", CONSOLE, STRONG), WD("ps5", CONSOLE, STRONG),
	AN("nintendo", CONSOLE, STRONG),
	AN("phone", PHONE, MEDIUM), WD("android", PHONE, MEDIUM), WD("galaxy", PHONE, MEDIUM),
	WD("pixel", PHONE, MEDIUM), AN("oneplus", PHONE, MEDIUM), WD("redmi", PHONE, MEDIUM),
	AN("tablet", TABLET, MEDIUM), WD("desktop", COMPUTER, MEDIUM), WD("laptop", COMPUTER, MEDIUM),
	AN("notebook", COMPUTER, MEDIUM), WD("pc", COMPUTER, MEDIUM), AN("workstation", COMPUTER, MEDIUM),
	AN("raspberrypi", COMPUTER, MEDIUM), WD("ubuntu", COMPUTER, MEDIUM), WD("windows", COMPUTER, MEDIUM),
	AN("macosx", COMPUTER, MEDIUM),
	/* media */
	AN("chromecast", TV, STRONG), AN("appletv", TV, STRONG), AN("androidtv", TV, STRONG),
	AN("googletv", TV, STRONG), AN("firetv", TV, STRONG), AN("bravia", TV, STRONG), WD("roku", TV, STRONG),
	WD("tv", TV, MEDIUM), AN("smarttv", TV, MEDIUM), AN("webos", TV, MEDIUM), WD("kodi", TV, MEDIUM),
	AN("googlehome", VOICE, STRONG), AN("nestmini", VOICE, STRONG), AN("nestaudio", VOICE, STRONG),
	AN("nesthub", VOICE, STRONG), AN("homepod", VOICE, STRONG), AN("audioaccessory", VOICE, STRONG),
	WD("alexa", VOICE, MEDIUM),
	AN("sonos", SPEAKER, STRONG), AN("speaker", SPEAKER, MEDIUM), AN("soundbar", SPEAKER, MEDIUM),
	AN("soundtouch", SPEAKER, MEDIUM),
	/* cameras; ds-2 is Hikvision's camera range, dcs- D-Link's */
	AN("cam", CAMERA, MEDIUM), WD("ipc", CAMERA, MEDIUM), AN("doorbell", CAMERA, MEDIUM),
	WD("nvr", CAMERA, MEDIUM), WD("ds2", CAMERA, MEDIUM), WD("dcs#", CAMERA, MEDIUM), WD("axis", CAMERA, MEDIUM),
	AN("reolink", CAMERA, MEDIUM), AN("ezviz", CAMERA, MEDIUM), AN("hikvision", CAMERA, MEDIUM),
	AN("dahua", CAMERA, MEDIUM),
	/* plugs, switches, relays; hs1/hs2/kp are TP-Link Kasa plugs, dsp-w D-Link's */
	AN("plug", PLUG, MEDIUM), AN("socket", PLUG, MEDIUM), AN("outlet", PLUG, MEDIUM), WD("switch", PLUG, MEDIUM),
	AN("lightswitch", PLUG, MEDIUM), WD("relay", PLUG, MEDIUM), AN("dimmer", PLUG, MEDIUM),
	WD("hs1##", PLUG, MEDIUM), WD("hs2##", PLUG, MEDIUM), WD("kp###", PLUG, MEDIUM), WD("dspw#", PLUG, MEDIUM),
	WD("shelly#", PLUG, MEDIUM),
	/* lights; kl is Kasa's bulb range */
	AN("bulb", LIGHT, MEDIUM), WD("light", LIGHT, MEDIUM), WD("lamp", LIGHT, MEDIUM), AN("lifx", LIGHT, MEDIUM),
	AN("nanoleaf", LIGHT, MEDIUM), WD("wled", LIGHT, MEDIUM), WD("kl###", LIGHT, MEDIUM),
	AN("thermostat", THERMOSTAT, MEDIUM), AN("ecobee", THERMOSTAT, MEDIUM), WD("tado", THERMOSTAT, MEDIUM),
	/* dch-s is D-Link's sensor range */
	AN("sensor", SENSOR, MEDIUM), AN("weatherstation", SENSOR, MEDIUM), WD("dchs#", SENSOR, MEDIUM),
	/* hubs and bridges: a Hue or Lightify box on the LAN is the bridge, the bulbs are on Zigbee */
	AN("ipbridge", HUB, STRONG), AN("homeassistant", HUB, MEDIUM), WD("hassio", HUB, MEDIUM),
	WD("hue", HUB, MEDIUM), AN("lightify", HUB, MEDIUM), AN("tradfri", HUB, MEDIUM),
	AN("smartthings", HUB, MEDIUM), AN("hubitat", HUB, MEDIUM), WD("homey", HUB, MEDIUM), WD("hub", HUB, MEDIUM),
	WD("bridge", HUB, MEDIUM), AN("homebridge", HUB, MEDIUM), AN("gateway", HUB, MEDIUM),
	WD("dchg#", HUB, MEDIUM), AN("asyncupnpclient", HUB, MEDIUM), /* Home Assistant's SSDP client */
	/* printers; BRN/BRW and NPI start Brother's and HP's default names */
	AN("printer", PRINTER, MEDIUM), AN("laserjet", PRINTER, MEDIUM), AN("officejet", PRINTER, MEDIUM),
	AN("deskjet", PRINTER, MEDIUM), WD("epson", PRINTER, MEDIUM), WD("canon", PRINTER, MEDIUM),
	WD("brn", PRINTER, MEDIUM), WD("brw", PRINTER, MEDIUM), WD("npi", PRINTER, MEDIUM),
	WD("nas", NAS, MEDIUM), AN("diskstation", NAS, MEDIUM), AN("synology", NAS, MEDIUM), AN("qnap", NAS, MEDIUM),
	AN("readynas", NAS, MEDIUM), AN("truenas", NAS, MEDIUM), AN("freenas", NAS, MEDIUM),
	/* routers; MiniUPnPd is the UPnP IGD daemon of routers */
	AN("router", ROUTER, MEDIUM), AN("openwrt", ROUTER, MEDIUM), AN("fritzbox", ROUTER, MEDIUM),
	AN("miniupnpd", ROUTER, MEDIUM), AN("extender", ROUTER, MEDIUM), AN("repeater", ROUTER, MEDIUM),
	WD("eero", ROUTER, MEDIUM), AN("accesspoint", ROUTER, MEDIUM),
	AN("roborock", VACUUM, MEDIUM), AN("rockrobo", VACUUM, MEDIUM), AN("vacuum", VACUUM, MEDIUM),
	AN("roomba", VACUUM, MEDIUM), AN("irobot", VACUUM, MEDIUM), AN("deebot", VACUUM, MEDIUM),
	AN("kettle", APPLIANCE, MEDIUM), AN("coffee", APPLIANCE, MEDIUM), AN("fridge", APPLIANCE, MEDIUM),
	AN("refrigerator", APPLIANCE, MEDIUM), AN("washer", APPLIANCE, MEDIUM), AN("washingmachine", APPLIANCE, MEDIUM),
	AN("dryer", APPLIANCE, MEDIUM), WD("oven", APPLIANCE, MEDIUM), AN("purifier", APPLIANCE, MEDIUM),
	AN("humidifier", APPLIANCE, MEDIUM), AN("aircon", APPLIANCE, MEDIUM), WD("heater", APPLIANCE, MEDIUM),
	AN("microwave", APPLIANCE, MEDIUM), AN("crockpot", APPLIANCE, MEDIUM), AN("cooker", APPLIANCE, MEDIUM),
};
#undef WD
#undef AN

#define SIG(p, k, w) {p, K_##k, w, false}

/* mDNS service types, without ".local". Medium where devices of other kinds
 * announce the same service (Macs announce _airplay and _smb, Google Home
 * speakers _googlecast, Apple TVs _raop). */
static const struct signal services[] = {
	SIG("_hue._tcp", HUB, STRONG), SIG("_home-assistant._tcp", HUB, STRONG),
	SIG("_amzn-wplay._tcp", TV, STRONG), SIG("_androidtvremote._tcp", TV, STRONG),
	SIG("_androidtvremote2._tcp", TV, STRONG), SIG("_mediaremotetv._tcp", TV, STRONG),
	SIG("_googlecast._tcp", TV, MEDIUM), SIG("_airplay._tcp", TV, MEDIUM),
	SIG("_sonos._tcp", SPEAKER, STRONG), SIG("_raop._tcp", SPEAKER, MEDIUM),
	SIG("_spotify-connect._tcp", SPEAKER, MEDIUM),
	SIG("_ipp._tcp", PRINTER, STRONG), SIG("_ipps._tcp", PRINTER, STRONG), SIG("_printer._tcp", PRINTER, STRONG),
	SIG("_pdl-datastream._tcp", PRINTER, STRONG), SIG("_uscan._tcp", PRINTER, STRONG),
	SIG("_smb._tcp", NAS, MEDIUM), SIG("_afpovertcp._tcp", NAS, MEDIUM), SIG("_adisk._tcp", NAS, MEDIUM),
	SIG("_nfs._tcp", NAS, MEDIUM),
	SIG("_workstation._tcp", COMPUTER, MEDIUM), SIG("_rfb._tcp", COMPUTER, MEDIUM),
	SIG("_axis-video._tcp", CAMERA, STRONG), SIG("_rtsp._tcp", CAMERA, MEDIUM),
	SIG("_nanoleafapi._tcp", LIGHT, STRONG), SIG("_wled._tcp", LIGHT, STRONG), SIG("_elg._tcp", LIGHT, STRONG),
	SIG("_airport._tcp", ROUTER, STRONG), SIG("_apple-mobdev2._tcp", PHONE, MEDIUM),
	SIG("_ewelink._tcp", PLUG, MEDIUM),
};

/* DHCP option 60, by prefix. Every Android build sends android-dhcp-N:
 * phones mostly, but also tablets, TVs and Echo speakers, hence medium. */
static const struct signal vendor_classes[] = {
	SIG("android-dhcp-", PHONE, MEDIUM),
	SIG("msft ", COMPUTER, MEDIUM),
	SIG("ubnt", ROUTER, MEDIUM),
	SIG("hewlett-packard jetdirect", PRINTER, MEDIUM),
};

/* Destination domains (the name or a subdomain). Medium: a phone's app
 * reaches the same cloud as the device it controls. */
static const struct signal domains[] = {
	SIG("hik-connect.com", CAMERA, MEDIUM), SIG("hikvision.com", CAMERA, MEDIUM),
	SIG("ezvizlife.com", CAMERA, MEDIUM), SIG("easy4ip.com", CAMERA, MEDIUM), SIG("imoulife.com", CAMERA, MEDIUM),
	SIG("dropcam.com", CAMERA, MEDIUM), SIG("immedia-semi.com", CAMERA, MEDIUM),
	SIG("amazonalexa.com", VOICE, MEDIUM),
	SIG("roborock.com", VACUUM, MEDIUM), SIG("irobotapi.com", VACUUM, MEDIUM), SIG("ecouser.net", VACUUM, MEDIUM),
	SIG("samsungcloudsolution.com", TV, MEDIUM), SIG("samsungotn.net", TV, MEDIUM),
	SIG("samsungacr.com", TV, MEDIUM), SIG("lgtvsdp.com", TV, MEDIUM),
	SIG("home-assistant.io", HUB, MEDIUM), SIG("meethue.com", HUB, MEDIUM),
	SIG("ecobee.com", THERMOSTAT, MEDIUM),
	SIG("hpeprint.com", PRINTER, MEDIUM), SIG("epsonconnect.com", PRINTER, MEDIUM),
	SIG("playstation.net", CONSOLE, MEDIUM), SIG("xboxlive.com", CONSOLE, MEDIUM),
	SIG("nintendo.net", CONSOLE, MEDIUM),
	SIG("quickconnect.to", NAS, MEDIUM), SIG("myqnapcloud.com", NAS, MEDIUM),
	SIG("sonos.com", SPEAKER, MEDIUM),
};

/* Destination names by prefix: Alexa Voice Service endpoints are
 * avs-alexa-<region>.amazon.com, and amazon.com alone says nothing. */
static const struct signal name_prefixes[] = {
	SIG("avs-alexa", VOICE, MEDIUM),
};

/* MAC vendors that make one kind of device, matched inside the registry's
 * name (case ignored). */
static const struct signal vendors[] = {
	SIG("hikvision", CAMERA, WEAK), SIG("zhejiang dahua", CAMERA, WEAK),
	SIG("axis communications", CAMERA, WEAK), SIG("reolink", CAMERA, WEAK),
	SIG("sonos", SPEAKER, WEAK), SIG("bose corp", SPEAKER, WEAK),
	SIG("roku", TV, WEAK), SIG("vizio", TV, WEAK),
	SIG("nintendo", CONSOLE, WEAK), SIG("sony interactive", CONSOLE, WEAK),
	SIG("roborock", VACUUM, WEAK), SIG("irobot corp", VACUUM, WEAK),
	SIG("synology", NAS, WEAK), SIG("qnap", NAS, WEAK),
	SIG("ubiquiti", ROUTER, WEAK), SIG("avm audiovisuelles", ROUTER, WEAK), SIG("avm gmbh", ROUTER, WEAK),
	SIG("sagemcom", ROUTER, WEAK), SIG("arcadyan", ROUTER, WEAK), SIG("zyxel", ROUTER, WEAK),
	SIG("eero", ROUTER, WEAK), SIG("cisco systems", ROUTER, WEAK), SIG("routerboard", ROUTER, WEAK),
	SIG("technicolor", ROUTER, WEAK), SIG("sercomm", ROUTER, WEAK),
	SIG("intel corp", COMPUTER, WEAK), SIG("dell inc", COMPUTER, WEAK), SIG("vmware", COMPUTER, WEAK),
	SIG("pcs systemtechnik", COMPUTER, WEAK), /* VirtualBox */
	SIG("raspberry pi", COMPUTER, WEAK),
	SIG("mobile communication", PHONE, WEAK), SIG("oneplus", PHONE, WEAK), SIG("motorola mobility", PHONE, WEAK),
	SIG("amazon technologies", VOICE, WEAK),
	SIG("philips lighting", HUB, WEAK), /* Hue bridges; the bulbs are on Zigbee */
	SIG("eq-3", HUB, WEAK),             /* HomeMatic/MAX! gateways */
	SIG("ecobee", THERMOSTAT, WEAK), SIG("tado gmbh", THERMOSTAT, WEAK),
	SIG("withings", SENSOR, WEAK),
	SIG("bsh hausger", APPLIANCE, WEAK), SIG("miele", APPLIANCE, WEAK), SIG("whirlpool", APPLIANCE, WEAK),
	SIG("electrolux", APPLIANCE, WEAK),
	SIG("brother ind", PRINTER, WEAK), SIG("seiko epson", PRINTER, WEAK), SIG("canon inc", PRINTER, WEAK),
	SIG("xerox", PRINTER, WEAK), SIG("lexmark", PRINTER, WEAK), SIG("kyocera corp", PRINTER, WEAK),
	SIG("nanoleaf", LIGHT, WEAK),
	SIG("belkin international", PLUG, WEAK), /* WeMo */
};
#undef SIG

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Why 256: a host name is at most 255 bytes; text past it is not read. */
#define FOLD_MAX 256

/* Windows asks for option 249 (Microsoft classless static routes). */
#define PRL_WINDOWS "249"

/* ASCII only: evidence is sanitized text and the locale must not matter. */
static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_lower(c) || is_upper(c) || is_digit(c);
}

static char lower(char c)
{
	return is_upper(c) ? (char)(c - 'A' + 'a') : c;
}

static bool ci_prefix(const char *s, size_t n, const char *pat)
{
	size_t k = strlen(pat);
	if (k > n)
		return false;
	for (size_t i = 0; i < k; i++)
		if (lower(s[i]) != pat[i])
			return false;
	return true;
}

static bool ci_contains(const char *s, size_t n, const char *pat)
{
	size_t k = strlen(pat);
	for (size_t i = 0; i + k <= n; i++)
		if (ci_prefix(s + i, n - i, pat))
			return true;
	return false;
}

/* s[0..n) folded to lower-case letters and digits into out; start[i] says
 * whether out[i] begins a word. Returns the folded length. */
static size_t fold(const char *s, size_t n, char *out, bool *start)
{
	size_t k = 0;
	char prev = '\0';
	for (size_t i = 0; i < n && k < FOLD_MAX; i++) {
		char c = s[i];
		if (is_alnum(c)) {
			start[k] = !is_alnum(prev) || (is_lower(prev) && is_upper(c)) || (is_digit(prev) && !is_digit(c));
			out[k++] = lower(c);
		}
		prev = c;
	}
	return k;
}

/* Length of pat if the folded text h[0..n) starts with it, else 0. */
static size_t folded_prefix(const char *h, size_t n, const char *pat)
{
	size_t j = 0;
	for (; pat[j]; j++) {
		if (j >= n)
			return 0;
		if (pat[j] == '#' ? !is_digit(h[j]) : h[j] != pat[j])
			return 0;
	}
	return j;
}

/* The keywords by their first character, in table order, so a position is
 * tried against a handful of keywords rather than all of them. Built per
 * call (a few hundred steps) rather than kept in a global. */
#define KW_BUCKETS 36 /* a-z, 0-9: folded text holds nothing else */
#define KW_NONE UINT8_MAX
_Static_assert(COUNT(keywords) < KW_NONE, "keyword indices must fit in uint8_t");

struct kw_index {
	uint8_t head[KW_BUCKETS];
	uint8_t next[COUNT(keywords)];
};

static size_t bucket(char c)
{
	return is_digit(c) ? 26 + (size_t)(c - '0') : (size_t)(c - 'a');
}

static void kw_index_build(struct kw_index *ix)
{
	memset(ix->head, KW_NONE, sizeof(ix->head));
	for (size_t i = COUNT(keywords); i-- > 0;) {
		size_t b = bucket(keywords[i].pat[0]);
		ix->next[i] = ix->head[b];
		ix->head[b] = (uint8_t)i;
	}
}

/* The longest keyword in s[0..n) (the first listed among equals), or NULL. */
static const struct signal *keyword_in(const struct kw_index *ix, const char *s, size_t n)
{
	char h[FOLD_MAX];
	bool start[FOLD_MAX];
	size_t hn = fold(s, n, h, start);
	const struct signal *best = NULL;
	size_t best_len = 0;
	for (size_t at = 0; at < hn; at++)
		for (uint8_t i = ix->head[bucket(h[at])]; i != KW_NONE; i = ix->next[i]) {
			const struct signal *k = &keywords[i];
			if (k->word && !start[at])
				continue;
			size_t len = folded_prefix(h + at, hn - at, k->pat);
			if (len > best_len || (len > 0 && len == best_len && k < best)) {
				best = k;
				best_len = len;
			}
		}
	return best;
}

/* "_ipp._tcp.local" (or with a final dot) equals "_ipp._tcp". */
static bool service_is(const char *s, size_t n, const char *pat)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n >= 6 && ci_prefix(s + n - 6, 6, ".local"))
		n -= 6;
	return n == strlen(pat) && ci_prefix(s, n, pat);
}

/* name is domain or one of its subdomains. */
static bool in_domain(const char *name, size_t n, const char *domain)
{
	size_t k = strlen(domain);
	if (n < k || !ci_prefix(name + n - k, k, domain))
		return false;
	return n == k || name[n - k - 1] == '.';
}

/* A comma-separated option list ("1,3,6,249") holds opt. */
static bool prl_has(const char *s, size_t n, const char *opt)
{
	size_t k = strlen(opt);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		if (j - i == k && memcmp(s + i, opt, k) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

struct score {
	uint8_t w[K_COUNT][G_COUNT]; /* strongest signal per kind and group */
};

static void credit(struct score *sc, enum group g, const struct signal *sig)
{
	if (sig && sig->weight > sc->w[sig->kind][g])
		sc->w[sig->kind][g] = sig->weight;
}

static void score_evidence(struct score *sc, const struct kw_index *ix, const struct ident_evidence *e)
{
	const char *s = iname_str(e->value);
	size_t n = iname_len(e->value);
	switch (e->source) {
	case IDENT_MDNS_INSTANCE: {
		/* Only the label: "Philips hue - 2476FF._hap._tcp.local". */
		const char *type = strstr(s, "._");
		credit(sc, G_NAME, keyword_in(ix, s, type ? (size_t)(type - s) : n));
		break;
	}
	case IDENT_DHCP_HOSTNAME:
	case IDENT_DHCP_FQDN:
	case IDENT_MDNS_HOSTNAME:
		credit(sc, G_NAME, keyword_in(ix, s, n));
		break;
	case IDENT_MDNS_MODEL:
		credit(sc, G_MODEL, keyword_in(ix, s, n));
		break;
	case IDENT_SSDP_SERVER:
	case IDENT_SSDP_USN:
	case IDENT_SSDP_USER_AGENT:
		credit(sc, G_SSDP, keyword_in(ix, s, n));
		break;
	case IDENT_MDNS_SERVICE:
		for (size_t i = 0; i < COUNT(services); i++)
			if (service_is(s, n, services[i].pat))
				credit(sc, G_SERVICE, &services[i]);
		break;
	case IDENT_DHCP_VENDOR_CLASS:
		for (size_t i = 0; i < COUNT(vendor_classes); i++)
			if (ci_prefix(s, n, vendor_classes[i].pat))
				credit(sc, G_DHCP, &vendor_classes[i]);
		break;
	case IDENT_DHCP_FINGERPRINT: {
		static const struct signal windows = {PRL_WINDOWS, K_COMPUTER, MEDIUM, false};
		if (prl_has(s, n, windows.pat))
			credit(sc, G_DHCP, &windows);
		break;
	}
	default: /* the client id is a MAC or a DUID: nothing of the kind */
		break;
	}
}

static void score_name(struct score *sc, const struct iname *name)
{
	const char *s = iname_str(name);
	size_t n = iname_len(name);
	for (size_t i = 0; i < COUNT(domains); i++)
		if (in_domain(s, n, domains[i].pat))
			credit(sc, G_DEST, &domains[i]);
	for (size_t i = 0; i < COUNT(name_prefixes); i++)
		if (ci_prefix(s, n, name_prefixes[i].pat))
			credit(sc, G_DEST, &name_prefixes[i]);
}

static void score_mac(struct score *sc, const struct device *d, const char *vendor)
{
	if (vendor) {
		size_t n = strlen(vendor);
		for (size_t i = 0; i < COUNT(vendors); i++)
			if (ci_contains(vendor, n, vendors[i].pat))
				credit(sc, G_MAC, &vendors[i]);
	}
	/* Phones pick a random, locally administered MAC per network by default. */
	static const struct signal randomized = {"", K_PHONE, WEAK, false};
	if (d->has_mac && oui_mac_is_local(d->mac))
		credit(sc, G_MAC, &randomized);
}

const char *kind_name(size_t i)
{
	return i < K_COUNT ? kind_names[i] : NULL;
}

bool kind_valid(const char *name)
{
	for (size_t i = 0; name && i < K_COUNT; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return true;
	return false;
}

const char *kind_classify(const struct device *d, const char *vendor)
{
	struct score sc;
	memset(&sc, 0, sizeof(sc));
	const struct ident_rec *r = ident_get(d);
	if (r && r->n_evidence > 0) {
		struct kw_index ix;
		kw_index_build(&ix);
		for (uint8_t i = 0; i < r->n_evidence && i < IDENT_MAX_EVIDENCE; i++)
			score_evidence(&sc, &ix, &r->evidence[i]);
	}
	for (uint8_t i = 0; r && i < r->n_names && i < IDENT_MAX_NAMES; i++)
		score_name(&sc, r->names[i].name);
	score_mac(&sc, d, vendor);

	size_t best = K_UNKNOWN;
	unsigned best_top = 0, best_sum = 0;
	bool tied = false;
	for (size_t k = 0; k < K_UNKNOWN; k++) {
		unsigned top = 0, sum = 0;
		for (size_t g = 0; g < G_COUNT; g++) {
			sum += sc.w[k][g];
			if (sc.w[k][g] > top)
				top = sc.w[k][g];
		}
		if (top == 0)
			continue;
		if (top > best_top || (top == best_top && sum > best_sum)) {
			best = k;
			best_top = top;
			best_sum = sum;
			tied = false;
		} else if (top == best_top && sum == best_sum) {
			tied = true;
		}
	}
	return kind_names[tied ? K_UNKNOWN : best];
}
