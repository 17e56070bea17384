package io.quarry.config;

import io.quarry.config.validation.QuartzCron;
import io.quarry.config.validation.WorkingApi;
import io.quarry.platform.Authentication;
import io.quarry.platform.InvalidApiSettingException;
import io.quarry.platform.Pagination;
import io.quarry.platform.StreamApi;
import io.quarry.platform.TokenPlacement;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.Pattern;
import java.util.List;
import org.springframework.boot.context.properties.bind.ConstructorBinding;

/**
 * One mined stream. A new stream is a new entry under {@code quarry.streams}, not new code.
 *
 * @param schedule 6-field Quartz cron (with seconds) of the stream's scheduler tick
 * @param apiPath path template of a page, relative to the platform base URL; {@code {userId}} is
 *     replaced by the user's external id
 * @param pageSize items requested per page ({@code limit})
 * @param pagesPerMessage pages fetched inside one message before a continuation is published
 * @param parser whether raw batches pass through a {@code <stream>-parser-queue} before the topic
 * @param subscribers subscribers of the stream's data topic, one queue each
 * @param requestsPerSecond most platform API calls per second for this stream on one instance (0:
 *     no limit), so a large tenant cannot exhaust the platform quota
 * @param pagination how the stream's pages follow each other; none: the cursor contract of {@code
 *     quarry.platform}
 * @param items where a page's items and their ids are; none: {@code quarry.platform}'s
 * @param auth where the user's token goes; none: {@code quarry.platform}'s placement
 * @param errorRules what the platform's answers mean, in order, the first match deciding; none
 *     match: the status table (429 rate-limited; 401, 403 unauthorized; 408, 5xx transient; any
 *     other permanent)
 * @param rateLimit how long a rate limit waits, and headers that slow the stream down first
 */
@WorkingApi
public record StreamProperties(
    @QuartzCron String schedule,
    @NotBlank @Pattern(regexp = "/.*", message = "must start with '/'") String apiPath,
    @Min(1) @Max(1000) int pageSize,
    @Min(1) @Max(1000) int pagesPerMessage,
    boolean parser,
    @NotEmpty List<@Pattern(regexp = "[a-z][a-z0-9-]{0,31}") String> subscribers,
    @Min(0) @Max(100_000) int requestsPerSecond,
    @Valid Paging pagination,
    @Valid Items items,
    @Valid Auth auth,
    @Valid List<ErrorRule> errorRules,
    @Valid RateLimit rateLimit) {

  @ConstructorBinding
  public StreamProperties {}

  /** A stream that speaks the platform-wide contract of {@code quarry.platform}. */
  public StreamProperties(
      String schedule,
      String apiPath,
      int pageSize,
      int pagesPerMessage,
      boolean parser,
      List<String> subscribers,
      int requestsPerSecond) {
    this(
        schedule,
        apiPath,
        pageSize,
        pagesPerMessage,
        parser,
        subscribers,
        requestsPerSecond,
        null,
        null,
        null,
        null,
        null);
  }

  /** A stream with its own pagination, items and token placement, and the default error table. */
  public StreamProperties(
      String schedule,
      String apiPath,
      int pageSize,
      int pagesPerMessage,
      boolean parser,
      List<String> subscribers,
      int requestsPerSecond,
      Paging pagination,
      Items items,
      Auth auth) {
    this(
        schedule,
        apiPath,
        pageSize,
        pagesPerMessage,
        parser,
        subscribers,
        requestsPerSecond,
        pagination,
        items,
        auth,
        null,
        null);
  }

  /**
   * Pagination of a stream (docs/configuration.md, "Pagination styles"). Every key is optional;
   * what a style needs and does not get is refused at start-up.
   *
   * @param style {@code cursor} (default), {@code next-url}, {@code link-header}, {@code
   *     last-item}, {@code offset} or {@code page-number}
   * @param pageSizeParameter query parameter of the page size ({@code limit}); empty: not sent
   * @param cursorParameter query parameter of the cursor, cursor and last-item ({@code after})
   * @param cursorPath JSON Pointer to the next cursor, cursor style ({@code
   *     quarry.platform.next-marker-path})
   * @param hasMorePath JSON Pointer to the has-more flag, cursor and last-item ({@code
   *     quarry.platform.has-more-path})
   * @param nextUrlPath JSON Pointer to the next page's URL, required by next-url
   * @param cursorField JSON Pointer into the last item to its cursor, last-item (the item id)
   * @param offsetParameter query parameter of the offset, offset style ({@code offset})
   * @param pageParameter query parameter of the page number, page-number style ({@code page})
   * @param firstPage number of the first page, page-number style ({@code 1})
   * @param totalPath JSON Pointer to the total number of items, offset and page-number (none: a
   *     short or empty page ends the data)
   */
  public record Paging(
      @Pattern(
              regexp = "cursor|next-url|link-header|last-item|offset|page-number",
              message =
                  "must be one of cursor, next-url, link-header, last-item, offset, page-number")
          String style,
      String pageSizeParameter,
      String cursorParameter,
      String cursorPath,
      String hasMorePath,
      String nextUrlPath,
      String cursorField,
      String offsetParameter,
      String pageParameter,
      @Min(0) Integer firstPage,
      String totalPath) {}

  /**
   * Where a page's items are.
   *
   * @param path JSON Pointer to the items array, {@code ""} for a body that is the array ({@code
   *     quarry.platform.items-path})
   * @param idPath JSON Pointer into an item to its id, e.g. {@code /meta/key} ({@code /} + {@code
   *     quarry.platform.item-id-field})
   */
  public record Items(String path, String idPath) {}

  /**
   * Where the user's token goes.
   *
   * @param placement {@code header} or {@code query} ({@code quarry.platform.token-placement})
   * @param header header name ({@code Authorization})
   * @param prefix word before the token in the header ({@code Bearer} in {@code Authorization},
   *     else none)
   * @param parameter query parameter of the token ({@code quarry.platform.token-parameter})
   */
  public record Auth(
      @Pattern(regexp = "header|query", message = "must be header or query") String placement,
      String header,
      String prefix,
      String parameter) {}

  /**
   * One error rule (docs/configuration.md, "Error rules"): every condition given must hold.
   *
   * @param status status codes, ranges or classes ({@code 400}, {@code 500-599}, {@code 4xx});
   *     none: any status but 2xx
   * @param bodyPath JSON Pointer into the answer's JSON body ({@code /error/code})
   * @param bodyEquals values one of which the value at {@code body-path} equals ({@code 4,17})
   * @param bodyContains text the value at {@code body-path} contains, ignoring case
   * @param header response header the answer carries ({@code X-RateLimit-Remaining})
   * @param headerEquals values one of which the header equals
   * @param headerContains text the header contains, ignoring case
   * @param action {@code rate-limited}, {@code unauthorized}, {@code transient}, {@code permanent}
   *     or {@code ignore}
   * @param defaultWait {@code rate-limited}: the wait when neither {@code Retry-After} nor {@code
   *     rate-limit.reset-header} gives one (none: {@code rate-limit.default-wait})
   */
  public record ErrorRule(
      List<String> status,
      String bodyPath,
      List<String> bodyEquals,
      String bodyContains,
      String header,
      List<String> headerEquals,
      String headerContains,
      String action,
      java.time.Duration defaultWait) {}

  /**
   * Rate-limit signals (docs/configuration.md, "Rate-limit signals").
   *
   * @param remainingHeader header with the requests left ({@code X-RateLimit-Remaining})
   * @param remainingFloor wait when the remaining budget is at or below this (0)
   * @param resetHeader header with the window's end, epoch seconds ({@code X-RateLimit-Reset})
   * @param usageHeader header with a usage percentage, a number or JSON ({@code x-app-usage})
   * @param usagePath JSON Pointer into a JSON usage header ({@code /call_count})
   * @param usageCeiling wait when the usage is at or above this percentage (90)
   * @param defaultWait wait when neither {@code Retry-After} nor the reset header gives one (1s)
   */
  public record RateLimit(
      String remainingHeader,
      @Min(0) Integer remainingFloor,
      String resetHeader,
      String usageHeader,
      String usagePath,
      Double usageCeiling,
      java.time.Duration defaultWait) {}

  /** Whether the stream sets any API setting of its own (else the platform-wide contract holds). */
  public boolean customisesApi() {
    return pagination != null
        || items != null
        || auth != null
        || (errorRules != null && !errorRules.isEmpty())
        || rateLimit != null;
  }

  /**
   * The stream's API: its own settings over the platform-wide ones.
   *
   * @throws io.quarry.platform.InvalidApiSettingException naming a setting that cannot work
   */
  public StreamApi api(QuarryProperties.Platform platform) {
    return api(
        platform.itemsPath(),
        platform.nextMarkerPath(),
        platform.hasMorePath(),
        platform.itemIdField(),
        platform.tokenPlacement(),
        platform.tokenParameter());
  }

  /** {@link #api(QuarryProperties.Platform)} over the given platform-wide settings. */
  public StreamApi api(
      String itemsPath,
      String nextMarkerPath,
      String hasMorePath,
      String itemIdField,
      String tokenPlacement,
      String tokenParameter) {
    Paging p = pagination == null ? emptyPaging() : pagination;
    Items i = items == null ? new Items(null, null) : items;
    Auth a = auth == null ? new Auth(null, null, null, null) : auth;
    String idPath = or(i.idPath(), StreamApi.fieldPointer(itemIdField));
    String styleKey = or(p.style(), "cursor");
    Pagination.Style style = Pagination.Style.of(styleKey);
    if (style == null) {
      throw new InvalidApiSettingException(
          "pagination.style",
          "must be one of cursor, next-url, link-header, last-item, offset, page-number");
    }
    Pagination paging =
        new Pagination(
            style,
            or(p.pageSizeParameter(), "limit"),
            or(p.cursorParameter(), "after"),
            or(p.cursorPath(), nextMarkerPath),
            or(p.hasMorePath(), hasMorePath),
            p.nextUrlPath(),
            or(p.cursorField(), idPath),
            or(p.offsetParameter(), "offset"),
            or(p.pageParameter(), "page"),
            p.firstPage() == null ? 1 : p.firstPage(),
            p.totalPath());
    String header = or(a.header(), Authentication.DEFAULT_HEADER);
    String prefix =
        a.prefix() != null
            ? a.prefix()
            : header.equalsIgnoreCase(Authentication.DEFAULT_HEADER)
                ? Authentication.DEFAULT_PREFIX
                : "";
    String placement = or(a.placement(), tokenPlacement);
    Authentication authentication =
        new Authentication(
            "query".equals(placement) ? TokenPlacement.QUERY : TokenPlacement.HEADER,
            header,
            prefix,
            or(a.parameter(), tokenParameter));
    return new StreamApi(
        apiPath,
        or(i.path(), itemsPath),
        idPath,
        paging,
        authentication,
        platformErrorRules(),
        rateLimit == null
            ? io.quarry.platform.RateLimit.NONE
            : new io.quarry.platform.RateLimit(
                rateLimit.remainingHeader(),
                rateLimit.remainingFloor(),
                rateLimit.resetHeader(),
                rateLimit.usageHeader(),
                rateLimit.usagePath(),
                rateLimit.usageCeiling(),
                rateLimit.defaultWait()));
  }

  /** The rules as the client reads them; a rule that cannot work is named by its index. */
  private List<io.quarry.platform.ErrorRule> platformErrorRules() {
    if (errorRules == null) {
      return List.of();
    }
    List<io.quarry.platform.ErrorRule> rules = new java.util.ArrayList<>();
    for (int index = 0; index < errorRules.size(); index++) {
      ErrorRule rule = errorRules.get(index);
      String key = "error-rules[" + index + "]";
      if (rule == null) {
        throw new InvalidApiSettingException(key, "is empty");
      }
      io.quarry.platform.ErrorRule.Action action =
          rule.action() == null ? null : io.quarry.platform.ErrorRule.Action.of(rule.action());
      if (rule.action() != null && action == null) {
        throw new InvalidApiSettingException(
            key + ".action",
            "must be one of rate-limited, unauthorized, transient, permanent, ignore");
      }
      try {
        rules.add(
            new io.quarry.platform.ErrorRule(
                rule.status(),
                rule.bodyPath(),
                rule.bodyEquals(),
                rule.bodyContains(),
                rule.header(),
                rule.headerEquals(),
                rule.headerContains(),
                action,
                rule.defaultWait()));
      } catch (InvalidApiSettingException e) {
        throw new InvalidApiSettingException(key + "." + e.key(), e.reason());
      }
    }
    return rules;
  }

  private static Paging emptyPaging() {
    return new Paging(null, null, null, null, null, null, null, null, null, null, null);
  }

  private static String or(String value, String fallback) {
    return value == null ? fallback : value;
  }
}
