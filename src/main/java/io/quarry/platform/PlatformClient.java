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
import java.util.Objects;
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
  private final PageReader reader;

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
    this.reader = new PageReader(settings, Objects.requireNonNull(json, "json"));
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
   * GETs {@code {baseUrl}{apiPath}?limit={limit}&after={marker}}.
   *
   * @param apiPath path template; {@code {userId}} is replaced by the URL-encoded external id
   * @param marker cursor of the page, null for the first page
   * @throws PlatformException (a subtype saying what to do) when no page could be read
   */
  public Page fetch(
      String apiPath, String userExternalId, String accessToken, int limit, String marker) {
    Objects.requireNonNull(apiPath, "apiPath");
    Objects.requireNonNull(userExternalId, "userExternalId");
    Objects.requireNonNull(accessToken, "accessToken");
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, was " + limit);
    }
    String path = apiPath.replace("{userId}", encode(userExternalId));
    String request = "GET " + path;
    long started = System.nanoTime();
    Response response = send(request(path, accessToken, limit, marker), request, accessToken);
    log.debug(
        "{} (after={}) answered {} with {} bytes in {} ms",
        request,
        marker,
        response.status(),
        response.body().length,
        (System.nanoTime() - started) / 1_000_000);
    return interpret(response, request);
  }

  @Override
  public void close() {
    http.close(org.apache.hc.core5.io.CloseMode.GRACEFUL);
  }

  private HttpGet request(String path, String token, int limit, String marker) {
    StringBuilder query = new StringBuilder(path.contains("?") ? "&" : "?");
    query.append("limit=").append(limit);
    if (marker != null) {
      query.append("&after=").append(encode(marker));
    }
    URI uri;
    try {
      uri = URI.create(base + path + query);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a valid API path: " + path);
    }
    if (settings.tokenPlacement() == TokenPlacement.QUERY) {
      uri = URI.create(uri + "&" + encode(settings.tokenParameter()) + "=" + encode(token));
    }
    HttpGet get = new HttpGet(uri);
    get.setHeader("Accept", "application/json");
    if (settings.tokenPlacement() == TokenPlacement.HEADER) {
      if (!isHeaderSafe(token)) {
        // the value is not quoted: it is a secret, and a CR/LF in it would inject headers
        throw new IllegalArgumentException("the access token has characters a header cannot hold");
      }
      get.setHeader("Authorization", "Bearer " + token);
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

  /** Status, Retry-After and body of an answer (the connection is back in the pool). */
  private record Response(int status, String retryAfter, byte[] body) {}

  private Response send(HttpGet get, String request, String token) {
    try {
      return http.execute(
          get,
          answer -> {
            HttpEntity entity = answer.getEntity();
            Header retryAfter = answer.getFirstHeader("Retry-After");
            return new Response(
                answer.getCode(),
                retryAfter == null ? null : retryAfter.getValue(),
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

  private Page interpret(Response response, String request) {
    int status = response.status();
    if (status >= 200 && status < 300) {
      return reader.read(response.body(), request);
    }
    if (status == 429) {
      throw new RateLimitedException(
          request, RetryAfter.parse(response.retryAfter(), Instant.now()));
    }
    if (status == 401 || status == 403) {
      throw new UnauthorizedException(request, status);
    }
    if (status >= 500 || status == 408) {
      throw new TransientPlatformException(request + " answered " + status);
    }
    throw new UnexpectedStatusException(request, status);
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
