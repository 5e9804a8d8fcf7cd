/*
 * Tests for features/kind.c: the vocabulary, each kind of signal, how
 * conflicting evidence is weighed, and no evidence.
 *
 * Evidence is recorded with ident_add as the tracker would. Values marked
 * "real" are what iotids extracts from the IoT Sentinel captures
 * (../shared/pcaps/real/iot-sentinel, Miettinen et al., ICDCS 2017).
 */
#include "features/kind.h"

#include <criterion/criterion.h>
#include <string.h>

#include "features/identity.h"
#include "features/intern.h"

static struct intern *names;
static struct ident_table *idt;
static struct device dev;
static uint64_t now_us;

/* A universally administered MAC: the randomized-MAC signal stays out of
 * the tests that are not about it. */
static const uint8_t MAC_PLAIN[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};

static void forget(void)
{
	ident_device_gone(idt, &dev);
	memset(&dev, 0, sizeof(dev));
	dev.has_mac = true;
	memcpy(dev.mac, MAC_PLAIN, 6);
}

static void init(void)
{
	names = intern_new(1024, 7);
	cr_assert_not_null(names);
	idt = ident_new(names);
	cr_assert_not_null(idt);
	forget();
}

static void fini(void)
{
	ident_device_gone(idt, &dev);
	ident_free(idt);
	intern_free(names);
}

TestSuite(kind, .init = init, .fini = fini);

static void ev(enum ident_source src, const char *value)
{
	ident_add(idt, &dev, src, value, ++now_us);
	cr_assert_not_null(ident_get(&dev));
}

static void dest(const char *name)
{
	struct iname *n = intern_get(names, name, strlen(name));
	cr_assert_not_null(n);
	ident_add_name(&dev, n, ++now_us);
	intern_put(names, n);
}

static const char *kind(const char *vendor)
{
	return kind_classify(&dev, vendor);
}

/* ---- vocabulary ---- */

Test(kind, the_vocabulary_lists_each_kind_once_then_null)
{
	static const char *const want[] = {"camera", "plug", "light", "thermostat", "sensor", "voice_assistant",
					   "speaker", "tv", "hub", "printer", "nas", "router", "phone", "tablet",
					   "computer", "game_console", "vacuum", "appliance", "unknown"};
	size_t n = sizeof(want) / sizeof(want[0]);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(kind_name(i), want[i]);
	cr_assert_null(kind_name(n));
	cr_assert_null(kind_name((size_t)-1));
}

Test(kind, every_vocabulary_name_is_valid)
{
	for (size_t i = 0; kind_name(i); i++)
		cr_assert(kind_valid(kind_name(i)), "%s", kind_name(i));
}

Test(kind, names_outside_the_vocabulary_are_invalid_including_other_cases)
{
	cr_assert_not(kind_valid("Camera"));
	cr_assert_not(kind_valid("cameras"));
	cr_assert_not(kind_valid("voice assistant"));
	cr_assert_not(kind_valid(""));
	cr_assert_not(kind_valid(NULL));
}

/* ---- no evidence ---- */

Test(kind, a_device_with_no_evidence_and_no_vendor_is_unknown)
{
	cr_assert_null(ident_get(&dev));
	cr_assert_str_eq(kind(NULL), "unknown");
}

Test(kind, a_chip_vendor_and_its_cloud_alone_are_unknown)
{
	ev(IDENT_DHCP_HOSTNAME, "ESP_07AEFB"); /* real: SmarterCoffee */
	cr_assert_str_eq(kind("Espressif Inc."), "unknown");
	forget();
	ev(IDENT_DHCP_VENDOR_CLASS, "tuya_bk7231n");
	dest("a2.tuyaeu.com");
	cr_assert_str_eq(kind("Tuya Smart Inc."), "unknown");
}

Test(kind, evidence_that_names_no_kind_is_unknown)
{
	ev(IDENT_DHCP_VENDOR_CLASS, "udhcp 1.12.1"); /* real: Ednet camera */
	ev(IDENT_DHCP_FINGERPRINT, "1,3,6,12,15,28,42");
	ev(IDENT_DHCP_CLIENT_ID, "01:3c:49:37:03:17:db");
	ev(IDENT_MDNS_SERVICE, "_hap._tcp.local");
	ev(IDENT_MDNS_SERVICE, "_http._tcp.local");
	cr_assert_str_eq(kind("ASSMANN Electronic GmbH"), "unknown");
}

/* ---- strong signals ---- */

Test(kind, each_strong_mdns_service_type_names_its_kind)
{
	static const struct {
		const char *service, *kind;
	} cases[] = {
		{"_hue._tcp.local", "hub"},           {"_home-assistant._tcp.local", "hub"},
		{"_amzn-wplay._tcp.local", "tv"},     {"_androidtvremote2._tcp.local", "tv"},
		{"_sonos._tcp.local", "speaker"},     {"_ipp._tcp.local", "printer"},
		{"_printer._tcp.local", "printer"},   {"_pdl-datastream._tcp.local", "printer"},
		{"_axis-video._tcp.local", "camera"}, {"_nanoleafapi._tcp.local", "light"},
		{"_airport._tcp.local", "router"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forget();
		ev(IDENT_MDNS_SERVICE, cases[i].service);
		cr_assert_str_eq(kind(NULL), cases[i].kind, "%s", cases[i].service);
	}
}

Test(kind, a_service_type_matches_with_or_without_local_and_a_final_dot_in_any_case)
{
	const char *forms[] = {"_ipp._tcp", "_ipp._tcp.local", "_ipp._tcp.local.", "_IPP._TCP.LOCAL"};
	for (size_t i = 0; i < 4; i++) {
		forget();
		ev(IDENT_MDNS_SERVICE, forms[i]);
		cr_assert_str_eq(kind(NULL), "printer", "%s", forms[i]);
	}
	forget();
	ev(IDENT_MDNS_SERVICE, "_ipp._tcp.localx");
	cr_assert_str_eq(kind(NULL), "unknown");
}

Test(kind, a_strong_product_name_in_a_hostname_names_its_kind)
{
	static const struct {
		const char *host, *kind;
	} cases[] = {
		{"Janes-iPhone", "phone"},   {"Marks-iPad", "tablet"},           {"Toms-MacBook-Pro", "computer"},
		{"Xbox-One", "game_console"}, {"Chromecast-Ultra", "tv"},        {"Kitchen-HomePod", "voice_assistant"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forget();
		ev(IDENT_DHCP_HOSTNAME, cases[i].host);
		cr_assert_str_eq(kind(NULL), cases[i].kind, "%s", cases[i].host);
	}
}

Test(kind, the_mdns_txt_model_names_the_kind)
{
	ev(IDENT_MDNS_MODEL, "Chromecast");
	cr_assert_str_eq(kind(NULL), "tv");
	forget();
	ev(IDENT_MDNS_MODEL, "Google Nest Mini");
	cr_assert_str_eq(kind(NULL), "voice_assistant");
}

Test(kind, an_ssdp_server_product_names_the_kind)
{
	ev(IDENT_SSDP_SERVER, "Linux/3.14.0 UPnP/1.0 IpBridge/1.9.0"); /* real: Hue bridge */
	cr_assert_str_eq(kind(NULL), "hub");
	forget();
	ev(IDENT_SSDP_SERVER, "Linux UPnP/1.0 Sonos/70.3-35220 (ZPS12)");
	cr_assert_str_eq(kind(NULL), "speaker");
	forget();
	ev(IDENT_SSDP_SERVER, "Linux/4.14 UPnP/1.0 MiniUPnPd/2.1");
	cr_assert_str_eq(kind(NULL), "router");
}

Test(kind, an_ssdp_usn_device_name_names_the_kind)
{
	ev(IDENT_SSDP_USN, "uuid:Socket-1_0-221519K1100F55"); /* real: WeMo switch */
	cr_assert_str_eq(kind(NULL), "plug");
	forget();
	ev(IDENT_SSDP_USN, "uuid:Bridge-1_0-231447B010097E"); /* real: WeMo Link, a bulb bridge */
	cr_assert_str_eq(kind("Belkin International Inc."), "hub");
}

Test(kind, an_ssdp_user_agent_names_the_os)
{
	ev(IDENT_SSDP_USER_AGENT, "Google Chrome/99.0.4844.74 Mac OS X"); /* real: nDPI ssdp-m-search-ua */
	cr_assert_str_eq(kind("Apple, Inc."), "computer");
}

/* ---- medium signals ---- */

Test(kind, an_android_dhcp_vendor_class_is_a_phone)
{
	ev(IDENT_DHCP_VENDOR_CLASS, "android-dhcp-14");
	cr_assert_str_eq(kind(NULL), "phone");
}

Test(kind, a_windows_dhcp_client_is_a_computer)
{
	ev(IDENT_DHCP_VENDOR_CLASS, "MSFT 5.0");
	cr_assert_str_eq(kind(NULL), "computer");
	forget();
	ev(IDENT_DHCP_FINGERPRINT, "1,3,6,15,31,33,43,44,46,47,119,121,249,252");
	cr_assert_str_eq(kind(NULL), "computer");
	forget();
	ev(IDENT_DHCP_FINGERPRINT, "1,3,6,15,2490");
	cr_assert_str_eq(kind(NULL), "unknown", "option 2490 is not option 249");
}

Test(kind, a_hostname_keyword_names_the_kind)
{
	static const struct {
		const char *host, *kind;
	} cases[] = {
		{"front-cam", "camera"},        {"IPC-HDW2431T", "camera"},  {"localcam", "camera"}, /* real: Edimax */
		{"DS-2CD2143G2-I", "camera"},   {"DCS-935L", "camera"},      /* real: D-Link camera */
		{"SmartPlug-5B1E", "plug"},     {"HS110(EU)", "plug"},       /* real: TP-Link plug */
		{"DSP-W215", "plug"},           /* real: D-Link plug */
		{"bulb-hall", "light"},         {"Office-Printer", "printer"}, {"NAS-01", "nas"},
		{"roborock-vacuum-a15", "vacuum"}, {"rockrobo", "vacuum"},   {"Netatmo-Thermostat", "thermostat"},
		{"DCH-S160", "sensor"},         /* real: D-Link water sensor */
		{"homeassistant", "hub"},       {"Philips-hue", "hub"},      /* real: Hue bridge */
		{"Samsung-SmartTV", "tv"},      {"iKettle", "appliance"},    {"Galaxy-S23", "phone"},
		{"DESKTOP-4F2K9Q1", "computer"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forget();
		ev(IDENT_DHCP_HOSTNAME, cases[i].host);
		cr_assert_str_eq(kind(NULL), cases[i].kind, "%s", cases[i].host);
	}
}

Test(kind, mdns_host_and_instance_names_are_read_like_hostnames)
{
	ev(IDENT_MDNS_HOSTNAME, "iotcam5b0e.local"); /* real: D-Link camera */
	cr_assert_str_eq(kind(NULL), "camera");
	forget();
	ev(IDENT_MDNS_INSTANCE, "[TV] Samsung Q80 Series (55)._airplay._tcp.local");
	cr_assert_str_eq(kind(NULL), "tv");
}

Test(kind, an_instance_name_is_read_up_to_its_service_type)
{
	ev(IDENT_MDNS_INSTANCE, "Kitchen._printer._tcp.local");
	cr_assert_str_eq(kind(NULL), "unknown", "the service type is evidence of its own");
}

Test(kind, keywords_ignore_case_and_punctuation)
{
	const char *forms[] = {"galaxy-tab-a7", "GALAXY_TAB", "Galaxy Tab", "GalaxyTab"};
	for (size_t i = 0; i < 4; i++) {
		forget();
		ev(IDENT_DHCP_HOSTNAME, forms[i]);
		cr_assert_str_eq(kind(NULL), "tablet", "%s", forms[i]);
	}
}

Test(kind, a_word_keyword_matches_only_where_a_word_starts)
{
	ev(IDENT_DHCP_HOSTNAME, "LivingRoomTV");
	cr_assert_str_eq(kind(NULL), "tv", "a capital starts a word");
	forget();
	ev(IDENT_DHCP_HOSTNAME, "jonas");
	cr_assert_str_eq(kind(NULL), "unknown", "nas inside a word");
	forget();
	ev(IDENT_DHCP_HOSTNAME, "atv3");
	cr_assert_str_eq(kind(NULL), "unknown", "tv inside a word");
}

Test(kind, the_longest_keyword_in_a_name_decides)
{
	ev(IDENT_DHCP_HOSTNAME, "Lightify-7B5F6B"); /* real: the Osram gateway, not a light */
	cr_assert_str_eq(kind(NULL), "hub");
	forget();
	ev(IDENT_DHCP_HOSTNAME, "hall-lightswitch");
	cr_assert_str_eq(kind(NULL), "plug");
	forget();
	ev(IDENT_DHCP_HOSTNAME, "Camerons-iPhone");
	cr_assert_str_eq(kind(NULL), "phone");
}

Test(kind, a_destination_domain_names_the_kind)
{
	static const struct {
		const char *name, *kind;
	} cases[] = {
		{"update.hik-connect.com", "camera"},       {"api.eu.amazonalexa.com", "voice_assistant"},
		{"avs-alexa-12-eu.amazon.com", "voice_assistant"}, {"api-eu.roborock.com", "vacuum"},
		{"otn.samsungcloudsolution.com", "tv"},     {"version.home-assistant.io", "hub"},
		{"roborock.com", "vacuum"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forget();
		dest(cases[i].name);
		cr_assert_str_eq(kind(NULL), cases[i].kind, "%s", cases[i].name);
	}
}

Test(kind, a_lookalike_domain_names_nothing)
{
	dest("evilroborock.com");
	dest("roborock.com.example.net");
	dest("www.amazon.com");
	cr_assert_str_eq(kind(NULL), "unknown");
}

/* ---- weak signals ---- */

Test(kind, a_single_kind_vendor_alone_names_the_kind)
{
	cr_assert_str_eq(kind("Hangzhou Hikvision Digital Technology Co.,Ltd."), "camera");
	cr_assert_str_eq(kind("Sonos, Inc."), "speaker");
	cr_assert_str_eq(kind("Raspberry Pi Trading Ltd"), "computer");
	cr_assert_str_eq(kind("Withings"), "sensor"); /* real: the Withings scale */
}

Test(kind, a_vendor_of_many_kinds_alone_is_unknown)
{
	cr_assert_str_eq(kind("Apple, Inc."), "unknown");
	cr_assert_str_eq(kind("Samsung Electronics Co.,Ltd"), "unknown");
	cr_assert_str_eq(kind("TP-LINK TECHNOLOGIES CO.,LTD."), "unknown");
}

Test(kind, a_randomized_mac_alone_is_a_phone)
{
	static const uint8_t mac[6] = {0x72, 0x29, 0x72, 0x56, 0x0c, 0xf7};
	memcpy(dev.mac, mac, 6);
	cr_assert_str_eq(kind(NULL), "phone");
}

/* ---- conflicting evidence ---- */

Test(kind, a_raspberry_pi_announcing_home_assistant_is_a_hub)
{
	ev(IDENT_DHCP_HOSTNAME, "homeassistant");
	ev(IDENT_DHCP_VENDOR_CLASS, "dhcpcd-9.4.1:Linux-6.1.21-v8+:aarch64:BCM2835");
	ev(IDENT_MDNS_SERVICE, "_home-assistant._tcp.local");
	cr_assert_str_eq(kind("Raspberry Pi Trading Ltd"), "hub");
}

Test(kind, an_espressif_plug_named_bulb_is_a_light)
{
	ev(IDENT_DHCP_HOSTNAME, "tuya-bulb-3f2a");
	ev(IDENT_DHCP_VENDOR_CLASS, "tuya_bk7231n");
	dest("a2.tuyaeu.com");
	cr_assert_str_eq(kind("Espressif Inc."), "light");
}

Test(kind, a_strong_signal_beats_a_medium_one_from_another_source)
{
	ev(IDENT_MDNS_SERVICE, "_googlecast._tcp.local"); /* medium tv: Google speakers cast too */
	ev(IDENT_MDNS_MODEL, "Google Home");
	cr_assert_str_eq(kind("Google, Inc."), "voice_assistant");
	forget();
	ev(IDENT_DHCP_VENDOR_CLASS, "android-dhcp-9");
	ev(IDENT_MDNS_SERVICE, "_amzn-wplay._tcp.local"); /* a Fire TV runs Android */
	cr_assert_str_eq(kind("Amazon Technologies Inc."), "tv");
}

Test(kind, a_weak_vendor_gives_way_to_a_medium_hostname)
{
	ev(IDENT_DHCP_HOSTNAME, "pi-printer");
	cr_assert_str_eq(kind("Raspberry Pi Trading Ltd"), "printer");
}

Test(kind, equal_medium_signals_are_settled_by_the_sources_that_agree)
{
	/* An Echo sends Android's vendor class; its cloud and its vendor say voice. */
	ev(IDENT_DHCP_HOSTNAME, "amazon-6c1f9a27e");
	ev(IDENT_DHCP_VENDOR_CLASS, "android-dhcp-9");
	dest("api.eu.amazonalexa.com");
	cr_assert_str_eq(kind("Amazon Technologies Inc."), "voice_assistant");
}

Test(kind, a_phone_whose_apps_reach_device_clouds_stays_a_phone)
{
	/* real: nDPI alexa-app, an Android phone running the Alexa app */
	ev(IDENT_DHCP_HOSTNAME, "android-1c1335ec95a27318");
	ev(IDENT_DHCP_VENDOR_CLASS, "dhcpcd-5.5.6");
	dest("pitangui.amazon.com");
	dest("avs-alexa-na.amazon.com");
	dest("api.eu.amazonalexa.com");
	cr_assert_str_eq(kind("LG Electronics (Mobile Communications)"), "phone");
}

Test(kind, names_of_one_kind_count_once_however_many)
{
	static const uint8_t mac[6] = {0x72, 0x29, 0x72, 0x56, 0x0c, 0xf7};
	memcpy(dev.mac, mac, 6);
	ev(IDENT_DHCP_VENDOR_CLASS, "android-dhcp-14");
	dest("api.hik-connect.com");
	dest("clips-eu.hik-connect.com");
	dest("ieu.ezvizlife.com");
	dest("api.easy4ip.com");
	cr_assert_str_eq(kind(NULL), "phone");
}

Test(kind, a_hostname_and_its_mdns_twin_count_once)
{
	ev(IDENT_DHCP_HOSTNAME, "garden-cam");
	ev(IDENT_MDNS_HOSTNAME, "garden-cam.local");
	ev(IDENT_MDNS_SERVICE, "_rtsp._tcp.local");
	dest("api.roborock.com");
	dest("ecouser.net");
	/* camera: name 4 + service 4; vacuum: destinations 4 */
	cr_assert_str_eq(kind(NULL), "camera");
	forget();
	ev(IDENT_DHCP_HOSTNAME, "garden-cam");
	ev(IDENT_MDNS_HOSTNAME, "garden-cam.local");
	ev(IDENT_DHCP_VENDOR_CLASS, "android-dhcp-14");
	cr_assert_str_eq(kind(NULL), "unknown", "one camera name against one phone vendor class");
}

Test(kind, two_kinds_tied_exactly_are_unknown)
{
	ev(IDENT_DHCP_HOSTNAME, "plug-7");
	ev(IDENT_MDNS_HOSTNAME, "camera-7.local");
	cr_assert_str_eq(kind(NULL), "unknown");
}

/* ---- the generated home (pcaps/gen/home.c) ---- */

Test(kind, the_generated_hikvision_camera_is_a_camera)
{
	ev(IDENT_DHCP_HOSTNAME, "DS-2CD2143G2-I");
	ev(IDENT_DHCP_VENDOR_CLASS, "udhcp 1.24.2");
	ev(IDENT_SSDP_SERVER, "Linux/3.0.8, UPnP/1.0, Portable SDK for UPnP devices/1.6.22");
	dest("api.hik-connect.com");
	cr_assert_str_eq(kind("Hangzhou Hikvision Digital Technology Co.,Ltd."), "camera");
}

Test(kind, the_generated_samsung_tv_is_a_tv)
{
	ev(IDENT_DHCP_HOSTNAME, "Samsung-QE55Q80");
	ev(IDENT_SSDP_SERVER, "SHP, UPnP/1.0, Samsung UPnP SDK/1.0");
	ev(IDENT_MDNS_INSTANCE, "[TV] Samsung Q80 Series (55)._airplay._tcp.local");
	ev(IDENT_MDNS_SERVICE, "_airplay._tcp.local");
	ev(IDENT_MDNS_MODEL, "QE55Q80AATXXU");
	dest("otn.samsungcloudsolution.com");
	cr_assert_str_eq(kind("Samsung Electronics Co.,Ltd"), "tv");
}
