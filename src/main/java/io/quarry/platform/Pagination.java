package io.quarry.platform;

import com.fasterxml.jackson.core.JsonPointer;
import java.util.Locale;

/**
 * How a stream walks through its pages, and what the position of the next page is. The position
 * travels in the mining message's marker, so continuations, retries and resumed chains work alike
 * for every style: the cursor for {@link Style#CURSOR}, the next page's URL for {@link
 * Style#NEXT_URL} and {@link Style#LINK_HEADER}, the last item's field for {@link Style#LAST_ITEM},
 * the offset or the page number, in decimal, for {@link Style#OFFSET} and {@link
 * Style#PAGE_NUMBER}. Settings the style does not use are dropped (null).
 *
 * @param style the pagination style
 * @param pageSizeParameter query parameter of the page size ({@code limit}); blank: none sent
 * @param cursorParameter query parameter of the cursor ({@link Style#CURSOR}, {@link
 *     Style#LAST_ITEM})
 * @param cursorPath JSON Pointer to the next cursor in the body ({@link Style#CURSOR})
 * @param hasMorePath JSON Pointer to a boolean has-more flag ({@link Style#CURSOR}, {@link
 *     Style#LAST_ITEM}); null or absent from a body: the cursor's presence (cursor) or a full page
 *     (last item) says whether more follow
 * @param nextUrlPath JSON Pointer to the next page's full URL ({@link Style#NEXT_URL})
 * @param cursorField JSON Pointer into the last item whose value is the cursor ({@link
 *     Style#LAST_ITEM})
 * @param offsetParameter query parameter of the offset ({@link Style#OFFSET})
 * @param pageParameter query parameter of the page number ({@link Style#PAGE_NUMBER})
 * @param firstPage number of the first page ({@link Style#PAGE_NUMBER}), usually 1 or 0
 * @param totalPath JSON Pointer to the total number of items ({@link Style#OFFSET}, {@link
 *     Style#PAGE_NUMBER}); null: a short or empty page ends the data
 */
public record Pagination(
    Style style,
    String pageSizeParameter,
    String cursorParameter,
    String cursorPath,
    String hasMorePath,
    String nextUrlPath,
    String cursorField,
    String offsetParameter,
    String pageParameter,
    int firstPage,
    String totalPath) {

  /** The pagination styles, named in configuration in kebab-case ({@code next-url}). */
  public enum Style {
    /** A cursor from the body, sent back as a parameter (today's contract). */
    CURSOR,
    /** The full URL of the next page from the body, followed as given. */
    NEXT_URL,
    /** The full URL of the next page from the {@code Link} header's {@code rel="next"}. */
    LINK_HEADER,
    /** A field of the page's last item (its id) sent as a parameter ({@code starting_after}). */
    LAST_ITEM,
    /** An offset increased by the items read. */
    OFFSET,
    /** A page number increased by one. */
    PAGE_NUMBER;

    /** {@code next-url}, as configuration writes it. */
    public String key() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The style a configuration value names, or null for an unknown one. */
    public static Style of(String key) {
      for (Style style : values()) {
        if (style.key().equalsIgnoreCase(key.trim())) {
          return style;
        }
      }
      return null;
    }

    /**
     * Whether Quarry counts the position itself (offset, page number) rather than the API handing
     * it out: such a position always grows, so the chain's guards compare pages instead.
     */
    public boolean countsPosition() {
      return this == OFFSET || this == PAGE_NUMBER;
    }

    /** Whether the position is the URL of the next page. */
    boolean followsUrls() {
      return this == NEXT_URL || this == LINK_HEADER;
    }
  }

  public Pagination {
    if (style == null) {
      throw new InvalidApiSettingException("pagination.style", "must be one of " + styles());
    }
    pageSizeParameter = blankToNull(pageSizeParameter);
    cursorParameter = blankToNull(cursorParameter);
    offsetParameter = blankToNull(offsetParameter);
    pageParameter = blankToNull(pageParameter);
    pointer(cursorPath, "pagination.cursor-path");
    pointer(hasMorePath, "pagination.has-more-path");
    pointer(nextUrlPath, "pagination.next-url-path");
    pointer(cursorField, "pagination.cursor-field");
    pointer(totalPath, "pagination.total-path");
    switch (style) {
      case CURSOR -> {
        require(cursorParameter, "pagination.cursor-parameter", style);
        require(cursorPath, "pagination.cursor-path", style);
      }
      case NEXT_URL -> require(nextUrlPath, "pagination.next-url-path", style);
      case LINK_HEADER -> {
        // the Link header says it all
      }
      case LAST_ITEM -> {
        require(cursorParameter, "pagination.cursor-parameter", style);
        require(cursorField, "pagination.cursor-field", style);
      }
      case OFFSET -> require(offsetParameter, "pagination.offset-parameter", style);
      case PAGE_NUMBER -> {
        require(pageParameter, "pagination.page-parameter", style);
        if (firstPage < 0) {
          throw new InvalidApiSettingException("pagination.first-page", "must not be negative");
        }
      }
    } // what the style does not use is dropped: two streams that page alike are equal
    boolean cursor = style == Style.CURSOR;
    boolean lastItem = style == Style.LAST_ITEM;
    boolean counted = style == Style.OFFSET || style == Style.PAGE_NUMBER;
    cursorParameter = cursor || lastItem ? cursorParameter : null;
    cursorPath = cursor ? cursorPath : null;
    hasMorePath = cursor || lastItem ? hasMorePath : null;
    nextUrlPath = style == Style.NEXT_URL ? nextUrlPath : null;
    cursorField = lastItem ? cursorField : null;
    offsetParameter = style == Style.OFFSET ? offsetParameter : null;
    pageParameter = style == Style.PAGE_NUMBER ? pageParameter : null;
    firstPage = style == Style.PAGE_NUMBER ? firstPage : 1;
    totalPath = counted ? totalPath : null;
  }

  /** Today's contract: {@code ?limit=N&after=M}, the cursor and has-more flag from the body. */
  public static Pagination cursor(String cursorPath, String hasMorePath) {
    return new Pagination(
        Style.CURSOR, "limit", "after", cursorPath, hasMorePath, null, null, null, null, 1, null);
  }

  static String styles() {
    StringBuilder names = new StringBuilder();
    for (Style style : Style.values()) {
      names.append(names.length() == 0 ? "" : ", ").append(style.key());
    }
    return names.toString();
  }

  private static void require(String value, String key, Style style) {
    if (value == null) {
      throw new InvalidApiSettingException(key, "is required by pagination style " + style.key());
    }
  }

  /** Checks a JSON Pointer ({@code ""} is the whole body; else it starts with {@code /}). */
  static void pointer(String value, String key) {
    if (value == null) {
      return;
    }
    try {
      JsonPointer.compile(value);
    } catch (IllegalArgumentException e) {
      throw new InvalidApiSettingException(
          key, "is not a JSON Pointer (\"\" or /a/b, e.g. /paging/next): " + e.getMessage());
    }
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }
}
