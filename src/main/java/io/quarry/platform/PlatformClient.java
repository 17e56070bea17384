package io.quarry.platform;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;
import org.apache.hc.client5.http.HttpRequestRetryStrategy;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches one page of a user's stream from the platform API (docs/architecture.md) and classifies
 * every failure as a {@link PlatformException} subtype. Thread-safe; one instance serves all
 * miners, over a pool of kept-alive HTTP/1.1 connections (Apache HttpClient 5, blocking: the
 * miner's thread does the I/O, no selector thread or futures per request). The access token goes
 * into the request only: it is never logged and never part of an exception. Close it to release the
 * connections.
 */
public final class PlatformClient implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PlatformClient.class);

  /** Pooled connections when the caller does not say: enough for a few dozen miners. */
  public static final int DEFAULT_MAX_CONNECTIONS = 64;

  private final Settings settings;
  private final String base;
  private final CloseableHttpClient http;
  private final ObjectMapper json;
  private final Map<StreamApi, PageReader> readers = new ConcurrentHashMap<>();
  // the platform-wide contract per path, built once: a page's path costs no pointer compiling
  private final Map<String, StreamApi> defaultApis = new ConcurrentHashMap<>();

  public PlatformClient(Settings settings, ObjectMapper json) {
    this(settings, json, DEFAULT_MAX_CONNECTIONS);
  }

  /**
   * @param maxConnections connections kept to the API at most (all miners share one host, so this
   *     is also the per-route limit); a miner waits up to the read timeout for a free one
   */
  public PlatformClient(Settings settings, ObjectMapper json, int maxConnections) {
    this.settings = Objects.requireNonNull(settings, "settings");
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections must be at least 1");
    }
    this.base = settings.baseUrl().toString().replaceAll("/+$", "");
    this.json = Objects.requireNonNull(json, "json");
    settings.api("/"); // the platform-wide contract must be readable before the first page
    PoolingHttpClientConnectionManager connections =
        PoolingHttpClientConnectionManagerBuilder.create()
            .setMaxConnTotal(maxConnections)
            .setMaxConnPerRoute(maxConnections)
            .setDefaultConnectionConfig(
                ConnectionConfig.custom()
                    .setConnectTimeout(Timeout.of(settings.connectTimeout()))
                    .setSocketTimeout(Timeout.of(settings.readTimeout()))
                    // a connection idle this long is checked before reuse (the server may have
                    // closed it); connections are renewed now and then (DNS changes, balancing)
                    .setValidateAfterInactivity(TimeValue.ofSeconds(2))
                    .setTimeToLive(TimeValue.ofMinutes(5))
                    .build())
            .build();
    this.http =
        HttpClients.custom()
            .setConnectionManager(connections)
            .setDefaultRequestConfig(
                RequestConfig.custom()
                    .setResponseTimeout(Timeout.of(settings.readTimeout()))
                    .setConnectionRequestTimeout(Timeout.of(settings.readTimeout()))
                    .setRedirectsEnabled(false)
                    .build())
            .disableRedirectHandling()
            .disableCookieManagement()
            .disableAuthCaching()
            .setRetryStrategy(new StaleConnectionRetry())
            .setUserAgent("Quarry")
            .build();
  }

  /**
   * GETs {@code {baseUrl}{apiPath}?limit={limit}&after={marker}}: the platform-wide contract of
   * {@link Settings} ({@link Settings#api(String)}).
   *
   * @param apiPath path template; {@code {userId}} is replaced by the URL-encoded external id
   * @param marker cursor of the page, null for the first page
   * @throws PlatformException (a subtype saying what to do) when no page could be read
   */
  public Page fetch(
      String apiPath, String userExternalId, String accessToken, int limit, String marker) {
    Objects.requireNonNull(apiPath, "apiPath");
    StreamApi api = defaultApis.computeIfAbsent(apiPath, settings::api);
    return fetch(api, userExternalId, accessToken, limit, marker);
  }

  /**
   * GETs the page of a stream at a position, as the stream's {@link StreamApi} says: the first page
   * at {@code {baseUrl}{apiPath}} when the position is null, else the cursor, the offset, the page
   * number or the next URL that the previous {@link Page#nextMarker()} gave.
   *
   * @param position the previous page's {@link Page#nextMarker()}, null for the first page
   * @throws PlatformException (a subtype saying what to do) when no page could be read
   */
  public Page fetch(
      StreamApi api, String userExternalId, String accessToken, int limit, String position) {
    Objects.requireNonNull(api, "api");
    Objects.requireNonNull(userExternalId, "userExternalId");
    Objects.requireNonNull(accessToken, "accessToken");
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, was " + limit);
    }
    PageReader reader = readers.computeIfAbsent(api, this::reader);
    URI uri = uri(api, userExternalId, limit, position);
    // the path only: a query may hold the token, and a followed URL's query is the API's business
    String request =
        "GET "
            + (position != null && api.pagination().style().followsUrls()
                ? uri.getRawPath()
                : api.apiPath().replace("{userId}", encode(userExternalId)));
    long started = System.nanoTime();
    Response response = send(request(api.authentication(), uri, accessToken), request, accessToken);
    log.debug(
        "{} (at {}) answered {} with {} bytes in {} ms",
        request,
        position,
        response.status(),
        response.body().length,
        (System.nanoTime() - started) / 1_000_000);
    return interpret(response, request, api, reader, limit, position);
  }

  @Override
  public void close() {
    http.close(org.apache.hc.core5.io.CloseMode.GRACEFUL);
  }

  private PageReader reader(StreamApi api) {
    return new PageReader(api, nextUrls(api), json);
  }

  private NextUrls nextUrls(StreamApi api) {
    Authentication auth = api.authentication();
    return new NextUrls(
        settings.baseUrl(), auth.placement() == TokenPlacement.QUERY ? auth.parameter() : null);
  }

  /** The URL of the page at a position, without the token. */
  private URI uri(StreamApi api, String userExternalId, int limit, String position) {
    Pagination paging = api.pagination();
    if (position != null && paging.style().followsUrls()) {
      try {
        return nextUrls(api).resolve(position);
      } catch (IllegalArgumentException e) {
        throw new MalformedResponseException("the chain's next URL " + e.getMessage());
      }
    }
    String path = api.apiPath().replace("{userId}", encode(userExternalId));
    StringBuilder query = new StringBuilder();
    if (paging.pageSizeParameter() != null) {
      parameter(query, paging.pageSizeParameter(), Integer.toString(limit));
    }
    switch (paging.style()) {
      case CURSOR, LAST_ITEM -> {
        if (position != null) {
          parameter(query, paging.cursorParameter(), position);
        }
      }
      case OFFSET ->
          parameter(
              query,
              paging.offsetParameter(),
              Long.toString(PageReader.number(position, 0, "an offset")));
      case PAGE_NUMBER ->
          parameter(
              query,
              paging.pageParameter(),
              Long.toString(PageReader.number(position, paging.firstPage(), "a page number")));
      case NEXT_URL, LINK_HEADER -> {
        // the first page: its URL comes from the configuration, the next ones from the API
      }
    }
    String separator = query.length() == 0 ? "" : path.contains("?") ? "&" : "?";
    try {
      return URI.create(base + path + separator + query);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a valid API path: " + path);
    }
  }

  private static void parameter(StringBuilder query, String name, String value) {
    query.append(query.length() == 0 ? "" : "&").append(encode(name)).append('=');
    query.append(encode(value));
  }

  private static HttpGet request(Authentication auth, URI uri, String token) {
    if (auth.placement() == TokenPlacement.QUERY) {
      String separator = uri.getRawQuery() == null ? "?" : "&";
      uri = URI.create(uri + separator + encode(auth.parameter()) + "=" + encode(token));
    }
    HttpGet get = new HttpGet(uri);
    get.setHeader("Accept", "application/json");
    if (auth.placement() == TokenPlacement.HEADER) {
      if (!isHeaderSafe(token)) {
        // the value is not quoted: it is a secret, and a CR/LF in it would inject headers
        throw new IllegalArgumentException("the access token has characters a header cannot hold");
      }
      get.setHeader(auth.header(), auth.headerValue(token));
    }
    return get;
  }

  /** Visible ASCII only (RFC 6750 tokens are a subset): no CR, LF, space or control character. */
  private static boolean isHeaderSafe(String token) {
    if (token.isEmpty()) {
      return false;
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /** Status, headers, Link and body of an answer (the connection is back in the pool). */
  private record Response(int status, Header[] headers, String link, byte[] body) {}

  private Response send(HttpGet get, String request, String token) {
    try {
      return http.execute(
          get,
          answer -> {
            HttpEntity entity = answer.getEntity();
            return new Response(
                answer.getCode(),
                answer.getHeaders(),
                links(answer.getHeaders("Link")),
                entity == null ? new byte[0] : EntityUtils.toByteArray(entity));
          });
    } catch (InterruptedIOException e) {
      // socket, connect and pool-lease timeouts are InterruptedIOExceptions, and so is an abort
      // because the thread was interrupted (the client keeps the thread's flag set then)
      if (Thread.currentThread().isInterrupted()) {
        throw new TransientPlatformException(request + " was interrupted");
      }
      throw transientFailure(request + " timed out", e, token);
    } catch (IOException e) {
      throw transientFailure(request + " failed", e, token);
    }
  }

  /** Several Link headers are one list (RFC 9110 §5.3). */
  private static String links(Header[] headers) {
    if (headers.length == 0) {
      return null;
    }
    StringBuilder all = new StringBuilder();
    for (Header header : headers) {
      all.append(all.length() == 0 ? "" : ", ").append(header.getValue());
    }
    return all.toString();
  }

  /**
   * The stream's error rules first (the first that matches decides), then the default status table;
   * a served page is checked against the stream's rate-limit signals.
   */
  private Page interpret(
      Response response,
      String request,
      StreamApi api,
      PageReader reader,
      int limit,
      String position) {
    int status = response.status();
    ErrorAnswer answer = new ErrorAnswer(status, response.headers(), response.body(), json);
    List<ErrorRule> rules = api.errorRules();
    for (int i = 0; i < rules.size(); i++) {
      ErrorRule rule = rules.get(i);
      if (rule.matchesStatus(status) && rule.matches(answer)) {
        return act(
            rule.action(),
            rule.defaultWait(),
            "error-rules[" + i + "]",
            response,
            request,
            api,
            reader,
            limit,
            position,
            answer);
      }
    }
    if (status >= 200 && status < 300) {
      Page page = reader.read(response.body(), response.link(), request, limit, position);
      Duration wait = api.rateLimit().slowDown(answer, json, Instant.now());
      if (wait != null) {
        log.info(
            "{}: the API's rate-limit signal says the budget is spent, the next page waits {}",
            request,
            wait);
        return page.waitingBeforeNext(wait);
      }
      return page;
    }
    return act(
        defaultAction(status), null, null, response, request, api, reader, limit, position, answer);
  }

  /** Today's status table: the default rule set. */
  private static ErrorRule.Action defaultAction(int status) {
    if (status == 429) {
      return ErrorRule.Action.RATE_LIMITED;
    }
    if (status == 401 || status == 403) {
      return ErrorRule.Action.UNAUTHORIZED;
    }
    if (status >= 500 || status == 408) {
      return ErrorRule.Action.TRANSIENT;
    }
    return ErrorRule.Action.PERMANENT;
  }

  /**
   * @param rule the rule's key ({@code error-rules[1]}), null for the default table
   */
  private Page act(
      ErrorRule.Action action,
      Duration ruleWait,
      String rule,
      Response response,
      String request,
      StreamApi api,
      PageReader reader,
      int limit,
      String position,
      ErrorAnswer answer) {
    int status = response.status();
    String why = rule == null ? "" : " (" + rule + ": " + action.key() + ")";
    return switch (action) {
      case RATE_LIMITED ->
          throw new RateLimitedException(
              request,
              status,
              api.rateLimit().waitAfterRefusal(answer, ruleWait, Instant.now()),
              why);
      case UNAUTHORIZED -> throw new UnauthorizedException(request, status, why);
      case TRANSIENT -> throw new TransientPlatformException(request + " answered " + status + why);
      case PERMANENT ->
          throw rule == null
              ? new UnexpectedStatusException(request, status)
              : new UnexpectedStatusException(request, status, why);
      case IGNORE -> {
        Page skipped = reader.skipped(response.body(), response.link(), limit, position);
        log.warn(
            "{} (at {}) answered {}{}: page skipped, {}",
            request,
            position,
            status,
            why,
            skipped.hasMore()
                ? "the chain goes on at "
                    + (api.pagination().style().followsUrls()
                        ? "the next URL"
                        : skipped.nextMarker())
                : "no next position in the answer: the chain ends as at the end of the data");
        yield skipped;
      }
    };
  }

  /**
   * Sends a GET again once, at once, when the connection broke under it (typically a kept-alive
   * connection the server had closed: no answer, or reset): the page is simply asked for again on a
   * new connection. Timeouts, refused connections, unknown hosts and TLS failures are not retried
   * here, and neither is any status (429, 503...): those go to the caller, whose error handling
   * decides about retries and delays.
   */
  private static final class StaleConnectionRetry implements HttpRequestRetryStrategy {
    @Override
    public boolean retryRequest(
        HttpRequest request, IOException exception, int execCount, HttpContext context) {
      return execCount <= 1
          && !(exception instanceof InterruptedIOException
              || exception instanceof ConnectException
              || exception instanceof UnknownHostException
              || exception instanceof NoRouteToHostException
              || exception instanceof SSLException);
    }

    @Override
    public boolean retryRequest(HttpResponse response, int execCount, HttpContext context) {
      return false;
    }

    @Override
    public TimeValue getRetryInterval(HttpResponse response, int execCount, HttpContext context) {
      return TimeValue.ZERO_MILLISECONDS;
    }
  }

  /** Keeps the cause for diagnosis unless some message in it quotes the token (a query URI). */
  private static TransientPlatformException transientFailure(
      String what, IOException e, String token) {
    if (mentions(e, token)) {
      return new TransientPlatformException(what + " (" + e.getClass().getName() + ")");
    }
    return new TransientPlatformException(what + " (" + chain(e) + ")", e);
  }

  /** E.g. {@code ConnectException <- UnresolvedAddressException}: the JDK nests the real reason. */
  private static String chain(Throwable e) {
    StringBuilder text = new StringBuilder();
    for (Throwable t = e; t != null && text.length() < 300; t = t.getCause()) {
      text.append(text.length() == 0 ? "" : " <- ").append(t.getClass().getSimpleName());
      if (t.getMessage() != null) {
        text.append(": ").append(t.getMessage());
      }
    }
    return text.toString();
  }

  private static boolean mentions(Throwable e, String token) {
    if (e == null) {
      return false;
    }
    String message = String.valueOf(e.getMessage());
    if (message.contains(token) || message.contains(encode(token))) {
      return true;
    }
    for (Throwable suppressed : e.getSuppressed()) {
      if (mentions(suppressed, token)) {
        return true;
      }
    }
    return mentions(e.getCause(), token);
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /**
   * Where the platform API is and what its pages look like. Paths are JSON Pointers ({@code
   * JsonNode.at}), so APIs of other shapes ({@code /data}, {@code /paging/cursors/after}) fit.
   *
   * @param baseUrl e.g. {@code https://api.example.com} (a path prefix is kept)
   * @param connectTimeout TCP connect timeout
   * @param readTimeout time allowed per request until the response arrives
   * @param itemsPath pointer to the items array
   * @param nextMarkerPath pointer to the next page's cursor (string or number)
   * @param hasMorePath pointer to the boolean has-more flag (optional in a body)
   * @param itemIdField field every item must carry (its id)
   * @param tokenPlacement header ({@code Authorization: Bearer}) or query parameter
   * @param tokenParameter query parameter name for {@link TokenPlacement#QUERY}
   */
  public record Settings(
      URI baseUrl,
      Duration connectTimeout,
      Duration readTimeout,
      String itemsPath,
      String nextMarkerPath,
      String hasMorePath,
      String itemIdField,
      TokenPlacement tokenPlacement,
      String tokenParameter) {

    public Settings {
      Objects.requireNonNull(baseUrl, "baseUrl");
      if (!"http".equals(baseUrl.getScheme()) && !"https".equals(baseUrl.getScheme())) {
        throw new IllegalArgumentException("baseUrl must be http(s): " + baseUrl);
      }
      requirePositive(connectTimeout, "connectTimeout");
      requirePositive(readTimeout, "readTimeout");
      for (String pointer : new String[] {itemsPath, nextMarkerPath, hasMorePath}) {
        JsonPointer.compile(Objects.requireNonNull(pointer, "JSON paths must not be null"));
      }
      if (itemIdField == null || itemIdField.isBlank()) {
        throw new IllegalArgumentException("itemIdField must not be blank");
      }
      Objects.requireNonNull(tokenPlacement, "tokenPlacement");
      if (tokenParameter == null || tokenParameter.isBlank()) {
        throw new IllegalArgumentException("tokenParameter must not be blank");
      }
    }

    /** The default contract of docs/architecture.md, with 2 s connect and 10 s read timeouts. */
    public static Settings defaults(URI baseUrl) {
      return new Settings(
          baseUrl,
          Duration.ofSeconds(2),
          Duration.ofSeconds(10),
          "/items",
          "/nextMarker",
          "/hasMore",
          "id",
          TokenPlacement.HEADER,
          "access_token");
    }

    /**
     * The platform-wide contract for a path: {@code ?limit=N&after=M}, the cursor, has-more flag
     * and items at this record's pointers, the token as {@link #tokenPlacement()} says.
     */
    public StreamApi api(String apiPath) {
      return new StreamApi(
          apiPath,
          itemsPath,
          StreamApi.fieldPointer(itemIdField),
          Pagination.cursor(nextMarkerPath, hasMorePath),
          new Authentication(
              tokenPlacement,
              Authentication.DEFAULT_HEADER,
              Authentication.DEFAULT_PREFIX,
              tokenParameter));
    }

    public Settings withTimeouts(Duration connect, Duration read) {
      return new Settings(
          baseUrl,
          connect,
          read,
          itemsPath,
          nextMarkerPath,
          hasMorePath,
          itemIdField,
          tokenPlacement,
          tokenParameter);
    }

    public Settings withPaths(String items, String nextMarker, String hasMore, String idField) {
      return new Settings(
          baseUrl,
          connectTimeout,
          readTimeout,
          items,
          nextMarker,
          hasMore,
          idField,
          tokenPlacement,
          tokenParameter);
    }

    public Settings withToken(TokenPlacement placement, String parameter) {
      return new Settings(
          baseUrl,
          connectTimeout,
          readTimeout,
          itemsPath,
          nextMarkerPath,
          hasMorePath,
          itemIdField,
          placement,
          parameter);
    }

    private static void requirePositive(Duration duration, String name) {
      if (duration == null || duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException(name + " must be a positive duration");
      }
    }
  }
}
