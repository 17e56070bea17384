package io.quarry.platform.sim;

import java.util.Locale;

/**
 * The dialect the simulator speaks to one user ({@link UserScenario#style}): today's contract or
 * one of the pagination styles real APIs use, so each style can be mined end to end. Items of the
 * styled dialects carry an id {@code id} and a second one nested, {@code ref.key} ({@code key-} and
 * the id).
 */
public enum ApiStyle {
  /** {@code ?limit=&after=} → {@code {"items":[…],"nextMarker":"m-2","hasMore":true}}. */
  STANDARD,
  /**
   * {@code ?page_size=&pagination_token=} → {@code {"data":[…],"meta":{"next_token":"t20"}}}, no
   * token on the last page (a cursor with custom names, no has-more flag).
   */
  CURSOR_CUSTOM,
  /**
   * {@code ?limit=} then the URL from {@code {"data":[…],"paging":{"next":"http://…?cursor=20"}}}
   * (a Graph-style API; the URL echoes an {@code access_token} query parameter when one was sent).
   */
  NEXT_URL,
  /**
   * {@code ?per_page=&page=} → a bare array, the next page in {@code Link: <…>; rel="next"} (a
   * code-host-style API).
   */
  LINK_HEADER,
  /**
   * {@code ?limit=&starting_after=<id>} → {@code {"object":"list","data":[…],"has_more":true}} (a
   * commerce-style API).
   */
  LAST_ITEM,
  /** {@code ?limit=&offset=} → {@code {"records":[…],"total_count":N}}. */
  OFFSET,
  /** {@code ?per_page=&page=} (from 1) → {@code {"results":[…],"total":N}}. */
  PAGE_NUMBER,
  /** {@code ?per_page=&page=} (from 0) → a bare array; a short or empty page is the last. */
  BARE_ARRAY;

  /** {@code next-url}, as a fault string writes it ({@code style:next-url}). */
  public String key() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  static ApiStyle of(String key) {
    for (ApiStyle style : values()) {
      if (style.key().equals(key)) {
        return style;
      }
    }
    throw new IllegalArgumentException("unknown style '" + key + "'");
  }
}
