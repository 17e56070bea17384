package io.quarry.platform;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The next-page URLs an API hands out ({@link Pagination.Style#NEXT_URL}, {@link
 * Pagination.Style#LINK_HEADER}): resolved against the base URL, refused when they lead to another
 * host (the user's token must not travel there), and stripped of the token's query parameter when
 * the API echoes it (such a URL becomes the chain's marker, kept in messages and the database).
 */
final class NextUrls {

  private final URI base;
  private final String tokenParameter;

  /**
   * @param tokenParameter the token's query parameter to strip, or null when the token goes in a
   *     header
   */
  NextUrls(URI base, String tokenParameter) {
    this.base = base;
    this.tokenParameter = tokenParameter;
  }

  /**
   * The URL to fetch, absolute, on the base URL's host.
   *
   * @throws IllegalArgumentException saying why the URL cannot be followed
   */
  URI resolve(String next) {
    URI url;
    try {
      url = base.resolve(URI.create(next.trim()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("is not a URL");
    }
    if (!sameOrigin(url)) {
      throw new IllegalArgumentException(
          "leads to "
              + url.getScheme()
              + "://"
              + url.getHost()
              + (url.getPort() < 0 ? "" : ":" + url.getPort())
              + ", not to the API's host "
              + base.getHost()
              + ": not followed");
    }
    if (url.getRawFragment() != null) {
      url = URI.create(url.toString().substring(0, url.toString().indexOf('#')));
    }
    return tokenParameter == null ? url : without(url, tokenParameter);
  }

  private boolean sameOrigin(URI url) {
    return url.getScheme() != null
        && url.getHost() != null
        && url.getScheme().equalsIgnoreCase(base.getScheme())
        && url.getHost().toLowerCase(Locale.ROOT).equals(base.getHost().toLowerCase(Locale.ROOT))
        && port(url) == port(base)
        && url.getRawUserInfo() == null;
  }

  private static int port(URI url) {
    if (url.getPort() >= 0) {
      return url.getPort();
    }
    return "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
  }

  private static URI without(URI url, String parameter) {
    String query = url.getRawQuery();
    if (query == null) {
      return url;
    }
    StringBuilder kept = new StringBuilder();
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      String name = equals < 0 ? pair : pair.substring(0, equals);
      if (!URLDecoder.decode(name, StandardCharsets.UTF_8).equals(parameter) && !pair.isEmpty()) {
        kept.append(kept.length() == 0 ? "" : "&").append(pair);
      }
    }
    String text = url.toString();
    int start = text.indexOf('?');
    return URI.create(text.substring(0, start) + (kept.length() == 0 ? "" : "?" + kept));
  }
}
