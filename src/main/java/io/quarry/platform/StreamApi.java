package io.quarry.platform;

import java.util.List;
import java.util.Objects;

/**
 * How one stream's pages are asked for and read: the path, the pagination, the items and the
 * token's place. Built from {@code quarry.streams.<stream>} over the {@code quarry.platform}
 * defaults; the constructor refuses settings that cannot work, naming the setting ({@link
 * InvalidApiSettingException}).
 *
 * @param apiPath path template of the first page; {@code {userId}} becomes the user's external id
 * @param itemsPath JSON Pointer to the items array, {@code ""} for a body that is the array
 * @param itemIdPath JSON Pointer into an item to its id ({@code /id}, {@code /meta/key})
 * @param pagination how the next page is found
 * @param authentication where the token goes
 * @param errorRules what non-2xx answers mean, tried in order before the default status table (429
 *     rate-limited; 401, 403 unauthorized; 408, 5xx transient; any other permanent)
 * @param rateLimit how long a rate limit waits, and the headers that slow the chain down
 */
public record StreamApi(
    String apiPath,
    String itemsPath,
    String itemIdPath,
    Pagination pagination,
    Authentication authentication,
    List<ErrorRule> errorRules,
    RateLimit rateLimit) {

  /** A stream with the default status table and no rate-limit signals. */
  public StreamApi(
      String apiPath,
      String itemsPath,
      String itemIdPath,
      Pagination pagination,
      Authentication authentication) {
    this(apiPath, itemsPath, itemIdPath, pagination, authentication, List.of(), RateLimit.NONE);
  }

  public StreamApi {
    if (apiPath == null || !apiPath.startsWith("/")) {
      throw new InvalidApiSettingException("api-path", "must start with '/'");
    }
    if (itemsPath == null) {
      throw new InvalidApiSettingException("items.path", "is required");
    }
    Pagination.pointer(itemsPath, "items.path");
    if (itemIdPath == null || itemIdPath.isEmpty()) {
      throw new InvalidApiSettingException(
          "items.id-path", "must point into an item, e.g. /id or /meta/key");
    }
    Pagination.pointer(itemIdPath, "items.id-path");
    Objects.requireNonNull(pagination, "pagination");
    Objects.requireNonNull(authentication, "authentication");
    errorRules = errorRules == null ? List.of() : List.copyOf(errorRules);
    rateLimit = rateLimit == null ? RateLimit.NONE : rateLimit;
  }

  /**
   * The API path's hash: equal settings have equal paths, and the client looks its page reader up
   * by these settings on every page, where the generated hash would walk every rule and signal.
   */
  @Override
  public int hashCode() {
    return apiPath.hashCode();
  }

  /** The pointer to a field of an item, escaped as RFC 6901 asks ({@code a/b} is {@code /a~1b}). */
  public static String fieldPointer(String field) {
    return "/" + field.replace("~", "~0").replace("/", "~1");
  }
}
