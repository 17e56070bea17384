package io.quarry.platform.sim;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How the simulated platform API treats one user. Every option is fluent and may be changed while
 * the simulator serves requests. Faults are checked in this order: missing or wrong token, {@link
 * #unauthorized()}, {@link #forbidden()}, server errors, error bodies, rate limiting; then the page
 * is served.
 */
public final class UserScenario {

  private static final int RECENT_REQUESTS = 1000;

  private volatile Integer pages;
  private volatile int itemsPerPage;
  private volatile String expectedToken;
  private volatile boolean unauthorized;
  private volatile boolean forbidden;
  private volatile boolean serverErrorsAlways;
  private final AtomicInteger serverErrorsLeft = new AtomicInteger();
  private volatile int serverErrorsPerPage;
  private volatile int serverErrorsFromPage;
  private final java.util.Map<String, AtomicInteger> pageFailures =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicInteger rateLimitsLeft = new AtomicInteger();
  private volatile Duration retryAfter = Duration.ofSeconds(1);
  private volatile int repeatMarkerFromPage;
  private volatile int cycleAtPage;
  private volatile int malformedAtPage;
  private volatile int hugeItemBytes;
  private volatile boolean alternativeShape;
  private volatile boolean numericMarkers;
  private volatile ApiStyle style = ApiStyle.STANDARD;
  private volatile Integer totalItems;
  private final AtomicInteger bodyErrorsLeft = new AtomicInteger();
  private volatile int bodyErrorStatus;
  private volatile int bodyErrorCode;
  private volatile int bodyErrorPage;
  private volatile int budget;
  private volatile Duration budgetWindow = Duration.ofSeconds(1);
  private long windowEndsMillis;
  private int budgetUsed;
  private volatile int usagePerRequest;
  private final AtomicInteger usageRequests = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile ReceivedRequest lastRequest;
  private final java.util.Deque<ReceivedRequest> recent = new java.util.ArrayDeque<>();

  /** Pages the user has in every stream (default: the simulator's default pages). */
  public UserScenario pages(int n) {
    this.pages = requireAtLeast(n, 0, "pages");
    return this;
  }

  /** Items on each page, never more than the request's limit (default 20). */
  public UserScenario itemsPerPage(int n) {
    this.itemsPerPage = requireAtLeast(n, 1, "itemsPerPage");
    return this;
  }

  /** Every request answers 401. */
  public UserScenario unauthorized() {
    this.unauthorized = true;
    return this;
  }

  /** Every request answers 403. */
  public UserScenario forbidden() {
    this.forbidden = true;
    return this;
  }

  /** The next {@code count} requests answer 500, then pages are served again (a 5xx burst). */
  public UserScenario serverErrors(int count) {
    serverErrorsLeft.set(requireAtLeast(count, 0, "count"));
    return this;
  }

  /** Every request answers 500. */
  public UserScenario serverErrorsAlways() {
    this.serverErrorsAlways = true;
    return this;
  }

  /**
   * Every request for this page or a later one answers 500 until {@link #recovered()}: an outage
   * that begins in the middle of a user's chain.
   */
  public UserScenario serverErrorsFromPage(int page) {
    this.serverErrorsFromPage = requireAtLeast(page, 1, "page");
    return this;
  }

  /** Ends an outage ({@link #serverErrorsAlways()}, {@link #serverErrorsFromPage}). */
  public UserScenario recovered() {
    this.serverErrorsAlways = false;
    this.serverErrorsFromPage = 0;
    return this;
  }

  /**
   * Every page (of each stream) answers 500 {@code count} times before it is served: a flaky API
   * whose each page needs retries.
   */
  public UserScenario serverErrorsPerPage(int count) {
    this.serverErrorsPerPage = requireAtLeast(count, 0, "count");
    pageFailures.clear();
    return this;
  }

  /** The next {@code times} requests answer 429 with {@code Retry-After} in whole seconds. */
  public UserScenario rateLimited(int times, Duration retryAfter) {
    this.retryAfter = retryAfter;
    rateLimitsLeft.set(requireAtLeast(times, 0, "times"));
    return this;
  }

  /**
   * The next {@code times} requests answer {@code status} with a Graph-style error body, {@code
   * {"error":{"message":…,"type":…,"code":CODE}}}: e.g. 400 with code 4 (throttled) or 190 (token
   * invalid).
   */
  public UserScenario bodyErrors(int times, int status, int code) {
    this.bodyErrorStatus = requireAtLeast(status, 200, "status");
    this.bodyErrorCode = code;
    this.bodyErrorPage = 0;
    bodyErrorsLeft.set(requireAtLeast(times, 0, "times"));
    return this;
  }

  /**
   * The first {@code times} requests for this page answer {@code status} with the error body of
   * {@link #bodyErrors}, then the page is served ({@link Integer#MAX_VALUE}: never).
   */
  public UserScenario bodyErrorsAtPage(int page, int times, int status, int code) {
    this.bodyErrorStatus = requireAtLeast(status, 200, "status");
    this.bodyErrorCode = code;
    bodyErrorsLeft.set(requireAtLeast(times, 0, "times"));
    this.bodyErrorPage = requireAtLeast(page, 1, "page");
    return this;
  }

  /**
   * A request budget per window, as a REST API tells it: every answer carries {@code
   * X-RateLimit-Remaining} and {@code X-RateLimit-Reset} (epoch seconds of the window's end), and a
   * request beyond the budget answers 403 with {@code X-RateLimit-Remaining: 0}.
   */
  public UserScenario requestBudget(int requests, Duration window) {
    synchronized (this) {
      this.budget = requireAtLeast(requests, 1, "requests");
      this.budgetWindow = window;
      this.windowEndsMillis = 0;
      this.budgetUsed = 0;
    }
    return this;
  }

  /**
   * Every answer carries {@code x-app-usage: {"call_count":P,"total_time":…,"total_cputime":…}} (a
   * Graph-style usage header), P growing by this many per cent per request up to 100.
   */
  public UserScenario appUsage(int percentPerRequest) {
    this.usagePerRequest = requireAtLeast(percentPerRequest, 1, "percentPerRequest");
    usageRequests.set(0);
    return this;
  }

  /** From this page on, the next marker is the current one: the same page repeats forever. */
  public UserScenario repeatMarkerFromPage(int page) {
    this.repeatMarkerFromPage = requireAtLeast(page, 1, "page");
    return this;
  }

  /** This page's next marker points to the previous page, so markers cycle A→B→A… */
  public UserScenario cycleAtPage(int page) {
    this.cycleAtPage = requireAtLeast(page, 2, "page");
    return this;
  }

  /** This page's body is truncated JSON (status 200). */
  public UserScenario malformedAtPage(int page) {
    this.malformedAtPage = requireAtLeast(page, 1, "page");
    return this;
  }

  /** Each item carries a {@code payload} string of this many bytes. */
  public UserScenario hugePages(int itemBytes) {
    this.hugeItemBytes = requireAtLeast(itemBytes, 0, "itemBytes");
    return this;
  }

  /** Serve {@code {"data":[...],"paging":{"next":"…","more":true}}} instead of the default. */
  public UserScenario alternativeShape() {
    this.alternativeShape = true;
    return this;
  }

  /** Markers are JSON numbers (2, 3, …) instead of strings ("m-2", "m-3", …). */
  public UserScenario numericMarkers() {
    this.numericMarkers = true;
    return this;
  }

  /** Speak this dialect to the user ({@link ApiStyle}; default {@link ApiStyle#STANDARD}). */
  public UserScenario style(ApiStyle style) {
    this.style = java.util.Objects.requireNonNull(style, "style");
    return this;
  }

  /**
   * Items the user has in every stream of a styled dialect (default: the pages × 20); they are
   * sliced by the page size the client asks for.
   */
  public UserScenario totalItems(int n) {
    this.totalItems = requireAtLeast(n, 0, "totalItems");
    return this;
  }

  /**
   * Applies one fault or setting written as text, as the command line and {@code
   * quarry.platform.simulator-faults} give it: {@code unauthorized}, {@code forbidden}, {@code
   * server-errors} (every request) or {@code server-errors:N} (a burst of N), {@code flaky:N} (each
   * page fails N times first), {@code rate-limited:N:SECONDS}, {@code repeat-marker:PAGE}, {@code
   * cycle:PAGE}, {@code malformed:PAGE}, {@code huge:BYTES}, {@code pages:N}, {@code style:NAME}
   * ({@link ApiStyle#key()}), {@code items:N}, {@code body-errors:N:STATUS:CODE} ({@link
   * #bodyErrors}), {@code body-errors-at:PAGE:N:STATUS:CODE} ({@link #bodyErrorsAtPage}), {@code
   * request-budget:N:SECONDS} ({@link #requestBudget}), {@code app-usage:PERCENT} ({@link
   * #appUsage}).
   *
   * @throws IllegalArgumentException naming the known faults, for any other text
   */
  public UserScenario fault(String fault) {
    String[] parts = fault.trim().split(":", -1);
    String kind = parts[0];
    try {
      switch (kind) {
        case "unauthorized" -> {
          arguments(parts, 0);
          return unauthorized();
        }
        case "forbidden" -> {
          arguments(parts, 0);
          return forbidden();
        }
        case "server-errors" -> {
          if (parts.length == 1) {
            return serverErrorsAlways();
          }
          arguments(parts, 1);
          return serverErrors(number(parts, 1));
        }
        case "flaky" -> {
          arguments(parts, 1);
          return serverErrorsPerPage(number(parts, 1));
        }
        case "rate-limited" -> {
          arguments(parts, 2);
          return rateLimited(number(parts, 1), Duration.ofSeconds(number(parts, 2)));
        }
        case "repeat-marker" -> {
          arguments(parts, 1);
          return repeatMarkerFromPage(number(parts, 1));
        }
        case "cycle" -> {
          arguments(parts, 1);
          return cycleAtPage(number(parts, 1));
        }
        case "malformed" -> {
          arguments(parts, 1);
          return malformedAtPage(number(parts, 1));
        }
        case "huge" -> {
          arguments(parts, 1);
          return hugePages(number(parts, 1));
        }
        case "pages" -> {
          arguments(parts, 1);
          return pages(number(parts, 1));
        }
        case "style" -> {
          arguments(parts, 1);
          return style(ApiStyle.of(parts[1].trim()));
        }
        case "items" -> {
          arguments(parts, 1);
          return totalItems(number(parts, 1));
        }
        case "body-errors" -> {
          arguments(parts, 3);
          return bodyErrors(number(parts, 1), number(parts, 2), number(parts, 3));
        }
        case "body-errors-at" -> {
          arguments(parts, 4);
          return bodyErrorsAtPage(
              number(parts, 1), number(parts, 2), number(parts, 3), number(parts, 4));
        }
        case "request-budget" -> {
          arguments(parts, 2);
          return requestBudget(number(parts, 1), seconds(number(parts, 2)));
        }
        case "app-usage" -> {
          arguments(parts, 1);
          return appUsage(number(parts, 1));
        }
        default -> throw new IllegalArgumentException("unknown fault");
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "fault '"
              + fault
              + "': "
              + e.getMessage()
              + "; known: unauthorized, forbidden, server-errors[:N], flaky:N,"
              + " rate-limited:N:SECONDS,"
              + " repeat-marker:PAGE, cycle:PAGE, malformed:PAGE, huge:BYTES, pages:N,"
              + " style:NAME (standard, cursor-custom, next-url, link-header, last-item, offset,"
              + " page-number, bare-array), items:N, body-errors:N:STATUS:CODE,"
              + " body-errors-at:PAGE:N:STATUS:CODE, request-budget:N:SECONDS,"
              + " app-usage:PERCENT");
    }
  }

  private static void arguments(String[] parts, int count) {
    if (parts.length != count + 1) {
      throw new IllegalArgumentException("takes " + count + " value(s) after ':'");
    }
  }

  private static Duration seconds(int seconds) {
    return Duration.ofSeconds(requireAtLeast(seconds, 1, "seconds"));
  }

  private static int number(String[] parts, int index) {
    if (index >= parts.length) {
      throw new IllegalArgumentException("needs a number after ':'");
    }
    try {
      return Integer.parseInt(parts[index].trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + parts[index] + "' is not a whole number");
    }
  }

  /** Requests received for this user, faulty ones included. */
  public int requests() {
    return requests.get();
  }

  /** The latest request received for this user, or null. */
  public ReceivedRequest lastRequest() {
    return lastRequest;
  }

  /**
   * The latest requests received for this user, oldest first (at most {@value #RECENT_REQUESTS}, so
   * a long demo run stays bounded).
   */
  public List<ReceivedRequest> recentRequests() {
    synchronized (recent) {
      return List.copyOf(recent);
    }
  }

  void received(ReceivedRequest request) {
    requests.incrementAndGet();
    lastRequest = request;
    synchronized (recent) {
      if (recent.size() == RECENT_REQUESTS) {
        recent.removeFirst();
      }
      recent.addLast(request);
    }
  }

  void expectedToken(String token) {
    this.expectedToken = token;
  }

  boolean accepts(String token) {
    String expected = expectedToken;
    return token != null && !token.isEmpty() && (expected == null || expected.equals(token));
  }

  boolean isUnauthorized() {
    return unauthorized;
  }

  boolean isForbidden() {
    return forbidden;
  }

  boolean takeServerError(String stream, Integer page) {
    int from = serverErrorsFromPage;
    if (serverErrorsAlways
        || (from > 0 && page != null && page >= from)
        || serverErrorsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return true;
    }
    int perPage = serverErrorsPerPage;
    return perPage > 0
        && pageFailures
                .computeIfAbsent(stream + " " + page, key -> new AtomicInteger())
                .getAndIncrement()
            < perPage;
  }

  /** The error code when this request answers with an error body, else null. */
  Integer takeBodyError(Integer page) {
    int at = bodyErrorPage;
    if ((at == 0 || (page != null && page == at))
        && bodyErrorsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return bodyErrorCode;
    }
    return null;
  }

  int bodyErrorStatus() {
    return bodyErrorStatus;
  }

  /**
   * Counts a request against the budget: the remaining budget and the window's end (epoch seconds),
   * or null without a budget. A negative remaining means the request is over the budget.
   */
  synchronized long[] spendBudget() {
    if (budget == 0) {
      return null;
    }
    long now = System.currentTimeMillis();
    if (now >= windowEndsMillis) {
      windowEndsMillis = now + budgetWindow.toMillis();
      budgetUsed = 0;
    }
    budgetUsed++;
    return new long[] {budget - budgetUsed, (windowEndsMillis + 999) / 1000};
  }

  /** The usage percentage this request reports, or -1 without {@link #appUsage}. */
  int takeUsage() {
    int step = usagePerRequest;
    return step == 0 ? -1 : Math.min(100, usageRequests.incrementAndGet() * step);
  }

  boolean takeRateLimit() {
    return rateLimitsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
  }

  Duration retryAfter() {
    return retryAfter;
  }

  int pagesOr(int fallback) {
    Integer n = pages;
    return n == null ? fallback : n;
  }

  int itemsPerPageOr(int fallback) {
    return itemsPerPage == 0 ? fallback : itemsPerPage;
  }

  int repeatMarkerFromPage() {
    return repeatMarkerFromPage;
  }

  int cycleAtPage() {
    return cycleAtPage;
  }

  int malformedAtPage() {
    return malformedAtPage;
  }

  int hugeItemBytes() {
    return hugeItemBytes;
  }

  boolean servesAlternativeShape() {
    return alternativeShape;
  }

  boolean servesNumericMarkers() {
    return numericMarkers;
  }

  ApiStyle style() {
    return style;
  }

  int totalItemsOr(int fallback) {
    Integer n = totalItems;
    return n == null ? fallback : n;
  }

  private static int requireAtLeast(int value, int minimum, String name) {
    if (value < minimum) {
      throw new IllegalArgumentException(name + " must be at least " + minimum + ", was " + value);
    }
    return value;
  }
}
