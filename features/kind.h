/*
 * kind — what sort of device something is (camera, plug, tv...), inferred
 * from the identity evidence it gave (identity.h) and its MAC vendor, so a
 * rule can say `kind: camera` instead of listing MACs.
 *
 * Each piece of evidence is matched against a small table of signals; a
 * signal names one kind with a weight:
 *
 *   strong (8)  a name that only one kind of device uses or announces
 *   medium (4)  a generic word or a cloud that says the kind
 *   weak   (1)  the MAC vendor, for vendors that make one kind of device
 *
 *   source (group)               matched by                  examples
 *   ---------------------------  --------------------------  -------------------------------------------
 *   mDNS service type (service)  exact type                  _hue._tcp, _home-assistant._tcp, _ipp._tcp,
 *                                                            _printer._tcp, _amzn-wplay._tcp (strong);
 *                                                            _googlecast._tcp, _airplay._tcp -> tv,
 *                                                            _raop._tcp -> speaker, _smb._tcp -> nas
 *                                                            (medium: other kinds announce them too)
 *   DHCP hostname, FQDN, mDNS    keyword at a word start     iphone, ipad, macbook, chromecast, xbox,
 *   host and instance (name);    or anywhere, case and       homepod (strong); cam, ipc, plug, bulb,
 *   mDNS TXT model (model);      punctuation ignored; the    printer, nas, tv, thermostat, roborock,
 *   SSDP SERVER, USN, USER-      longest keyword in a value  vacuum, android, galaxy, switch (medium);
 *   AGENT (ssdp)                 decides it                  model prefixes: ds-2 (Hikvision), dcs-
 *                                                            (D-Link cameras), hs1## (Kasa plugs);
 *                                                            SSDP products: IpBridge (strong),
 *                                                            Sonos, Roku, MiniUPnPd, Windows
 *   DHCP vendor class (dhcp)     prefix                      android-dhcp- -> phone, MSFT -> computer
 *   DHCP request list (dhcp)     option present              249 (Microsoft routes) -> computer
 *   destination names (dest)     domain or its subdomains    hik-connect.com -> camera, amazonalexa.com ->
 *                                                            voice_assistant, roborock.com -> vacuum,
 *                                                            samsungcloudsolution.com -> tv (medium)
 *   MAC vendor (mac)             part of the registry name   Hikvision -> camera, Sonos -> speaker,
 *                                                            Raspberry Pi -> computer; a locally
 *                                                            administered MAC -> phone (weak)
 *
 * Deliberately absent: chip and module vendors (Espressif, Tuya, Realtek,
 * Hi-Flying) and their clouds (*.tuyaeu.com), which go into plugs, lights
 * and sensors alike; vendors of many kinds (Apple, Samsung, Google, TP-Link,
 * D-Link); _hap._tcp (every HomeKit accessory announces it), _http._tcp.
 *
 * Scoring: within a group a kind keeps its strongest signal (a hostname and
 * its mDNS twin are one fact, not two); a kind's score is then its strongest
 * signal, ties broken by the sum over groups (independent sources agreeing).
 * The best score wins: a strong signal beats any number of medium ones
 * (_home-assistant._tcp on a Raspberry Pi is a hub, not a computer), and a
 * phone whose apps reach camera and vacuum clouds stays a phone (its own
 * DHCP and hostname agree). No signal, or two kinds tied exactly, is
 * "unknown".
 *
 * All of it is what the device says about itself: a device can lie, so a
 * rule keyed on kind trusts the device it selects.
 */
#ifndef IOTIDS_KIND_H
#define IOTIDS_KIND_H

#include <stdbool.h>
#include <stddef.h>

#include "features/device.h"

/* The i-th name of the vocabulary (camera, plug, light, thermostat, sensor,
 * voice_assistant, speaker, tv, hub, printer, nas, router, phone, tablet,
 * computer, game_console, vacuum, appliance, unknown); NULL past the end. */
const char *kind_name(size_t i);

/* True when name is one of the vocabulary (exact, lower case). */
bool kind_valid(const char *name);

/* The kind of d, one of the vocabulary: never NULL, "unknown" when the
 * evidence does not say. vendor is d's MAC vendor (oui_vendor) or NULL.
 * Reads only d's capped evidence lists, without allocating: a few
 * microseconds for a typical device, under 0.2 ms when all 32 evidence
 * values are hostile 255-byte strings, so it may run per alert. The string
 * is static. */
const char *kind_classify(const struct device *d, const char *vendor);

#endif
