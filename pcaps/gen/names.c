#include "pcaps/gen/names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ranked by rough popularity; rank 1 is drawn most. */
static const char *const sites[] = {
	"www.google.com", "www.youtube.com", "www.facebook.com", "www.instagram.com",
	"www.wikipedia.org", "en.wikipedia.org", "www.amazon.com", "www.reddit.com",
	"twitter.com", "www.whatsapp.com", "web.whatsapp.com", "www.netflix.com",
	"mail.google.com", "www.linkedin.com", "outlook.live.com", "www.bing.com",
	"www.tiktok.com", "news.ycombinator.com", "www.bbc.co.uk", "www.bbc.com",
	"www.nytimes.com", "www.theguardian.com", "www.cnn.com", "maps.google.com",
	"drive.google.com", "docs.google.com", "www.spotify.com", "open.spotify.com",
	"www.twitch.tv", "www.pinterest.com", "www.ebay.com", "www.paypal.com",
	"github.com", "stackoverflow.com", "www.imdb.com", "www.apple.com",
	"www.icloud.com", "www.microsoft.com", "login.microsoftonline.com", "www.office.com",
	"www.dropbox.com", "www.yahoo.com", "duckduckgo.com", "www.quora.com",
	"medium.com", "www.etsy.com", "www.booking.com", "www.airbnb.com",
	"www.tripadvisor.com", "www.weather.com", "www.accuweather.com", "www.espn.com",
	"www.bloomberg.com", "www.reuters.com", "www.forbes.com", "www.washingtonpost.com",
	"www.wsj.com", "www.theverge.com", "arstechnica.com", "www.wired.com",
	"techcrunch.com", "www.engadget.com", "www.cnet.com", "www.zdnet.com",
	"www.lemonde.fr", "www.spiegel.de", "www.elpais.com", "www.corriere.it",
	"www.aliexpress.com", "www.alibaba.com", "www.walmart.com", "www.target.com",
	"www.bestbuy.com", "www.ikea.com", "www.zalando.de", "www.asos.com",
	"www.hm.com", "www.nike.com", "www.adidas.com", "www.decathlon.fr",
	"www.deliveroo.co.uk", "www.ubereats.com", "www.uber.com", "www.lyft.com",
	"www.skyscanner.net", "www.expedia.com", "www.ryanair.com", "www.easyjet.com",
	"www.duolingo.com", "www.khanacademy.org", "www.coursera.org", "www.udemy.com",
	"www.canva.com", "www.figma.com", "www.notion.so", "trello.com",
	"slack.com", "app.slack.com", "zoom.us", "teams.microsoft.com",
	"discord.com", "web.telegram.org", "signal.org", "www.messenger.com",
	"www.snapchat.com", "www.tumblr.com", "vimeo.com", "www.dailymotion.com",
	"soundcloud.com", "www.deezer.com", "music.apple.com", "podcasts.google.com",
	"www.goodreads.com", "www.audible.com", "www.kindle.com", "archive.org",
	"www.nationalgeographic.com", "www.nasa.gov", "www.who.int", "www.gov.uk",
	"www.irs.gov", "www.usps.com", "www.fedex.com", "www.ups.com",
	"www.dhl.com", "www.chase.com", "www.bankofamerica.com", "www.wellsfargo.com",
	"www.revolut.com", "wise.com", "www.coinbase.com", "www.binance.com",
	"www.investing.com", "finance.yahoo.com", "www.marketwatch.com", "www.cnbc.com",
	"www.allrecipes.com", "www.bbcgoodfood.com", "www.seriouseats.com", "www.foodnetwork.com",
	"www.healthline.com", "www.mayoclinic.org", "www.webmd.com", "www.strava.com",
	"www.fitbit.com", "www.garmin.com", "www.zillow.com", "www.rightmove.co.uk",
	"www.indeed.com", "www.glassdoor.com", "www.craigslist.org", "www.gumtree.com",
	"www.leboncoin.fr", "www.marktplaats.nl", "www.vinted.fr", "www.depop.com",
	"www.steampowered.com", "store.steampowered.com", "www.epicgames.com", "www.playstation.com",
	"www.xbox.com", "www.nintendo.com", "www.roblox.com", "www.minecraft.net",
	"www.ign.com", "www.gamespot.com", "www.polygon.com", "www.kotaku.com",
	"www.9gag.com", "imgur.com", "giphy.com", "www.buzzfeed.com",
	"www.huffpost.com", "www.vox.com", "www.theatlantic.com", "www.newyorker.com",
	"www.economist.com", "www.ft.com", "www.independent.co.uk", "www.telegraph.co.uk",
	"www.dailymail.co.uk", "www.mirror.co.uk", "www.sky.com", "www.itv.com",
	"www.channel4.com", "www.hulu.com", "www.disneyplus.com", "www.primevideo.com",
	"www.hbomax.com", "www.crunchyroll.com", "www.paramountplus.com", "tv.apple.com",
	"www.shazam.com", "genius.com", "www.last.fm", "bandcamp.com",
	"www.wikihow.com", "www.britannica.com", "www.merriam-webster.com", "www.dictionary.com",
	"translate.google.com", "www.deepl.com", "chat.openai.com", "www.perplexity.ai",
};

static const char *const third_party[] = {
	"fonts.googleapis.com", "fonts.gstatic.com", "www.googletagmanager.com",
	"www.google-analytics.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com",
	"ajax.googleapis.com", "connect.facebook.net", "static.doubleclick.net",
	"securepubads.g.doubleclick.net", "i.ytimg.com", "scontent.cdninstagram.com",
	"static.xx.fbcdn.net", "pbs.twimg.com", "abs.twimg.com", "upload.wikimedia.org",
	"m.media-amazon.com", "images-na.ssl-images-amazon.com", "assets.nflxext.com",
	"cdn.shopify.com", "js.stripe.com", "www.gstatic.com", "apis.google.com",
	"c.amazon-adsystem.com", "s.yimg.com", "static.cloudflareinsights.com",
};

static const char *const bogus_bases[] = {
	"www.gooogle.com", "www.facebok.com", "www.yotube.com", "wpad.lan",
	"www.amazom.com", "printer.lan", "old-blog.example-shop.net",
};

static const char *const syll[] = {
	"ka", "lo", "mi", "ra", "ne", "to", "vi", "za", "po", "su", "de", "li",
	"ban", "cor", "fen", "gar", "hub", "jet", "kin", "lux", "mo", "nova",
	"pix", "quo", "ry", "sol", "tek", "urb", "vox", "wix", "yo", "zen",
};

static const char *const tlds[] = {"com", "io", "net", "co", "app", "shop", "news", "de", "fr", "co.uk"};

#define N_SITES (sizeof(sites) / sizeof(sites[0]))

int names_init(struct names *nm, uint64_t seed)
{
	double sum = 0;

	nm->n = N_SITES;
	nm->seed = seed;
	nm->cdf = malloc(nm->n * sizeof(*nm->cdf));
	if (!nm->cdf)
		return -ENOMEM;
	for (size_t i = 0; i < nm->n; i++) {
		sum += 1.0 / (double)(i + 1);
		nm->cdf[i] = sum;
	}
	for (size_t i = 0; i < nm->n; i++)
		nm->cdf[i] /= sum;
	return 0;
}

void names_free(struct names *nm)
{
	free(nm->cdf);
	nm->cdf = NULL;
}

/* New name k of day `day`: two or three syllables and a TLD, same for
 * every run with this seed. */
static void new_name(const struct names *nm, uint64_t day, uint64_t k, char *out, size_t len)
{
	struct prng r;
	char word[32] = "";
	size_t nsyl;
	bool www;

	prng_seed(&r, nm->seed, 0x6e616d6573ULL + day * 64 + k);
	nsyl = 2 + prng_below(&r, 2);
	for (size_t i = 0; i < nsyl; i++) {
		size_t used = strlen(word);

		snprintf(word + used, sizeof(word) - used, "%s", syll[prng_below(&r, sizeof(syll) / sizeof(syll[0]))]);
	}
	www = prng_chance(&r, 0.5);
	snprintf(out, len, "%s%s.%s", www ? "www." : "", word, tlds[prng_below(&r, sizeof(tlds) / sizeof(tlds[0]))]);
}

void names_site(const struct names *nm, struct prng *r, uint64_t day, char *out, size_t len)
{
	double u;
	size_t lo = 0, hi = nm->n - 1;

	if (prng_chance(r, 0.08)) {
		new_name(nm, day, prng_below(r, NAMES_NEW_PER_DAY), out, len);
		return;
	}
	u = prng_unit(r);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (nm->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	snprintf(out, len, "%s", sites[lo]);
}

const char *names_third_party(struct prng *r)
{
	return third_party[prng_below(r, sizeof(third_party) / sizeof(third_party[0]))];
}

void names_bogus(struct prng *r, char *out, size_t len)
{
	snprintf(out, len, "%s", bogus_bases[prng_below(r, sizeof(bogus_bases) / sizeof(bogus_bases[0]))]);
}
