package io.quarry.platform;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches one page of a user's stream from the platform API (ARCHITECTURE.md §4) and classifies
 * every failure as a {@link PlatformException} subtype. Thread-safe; one instance serves all
 * miners. The access token goes into the request only: it is never logged and never part of an
 * exception.
 */
public final class PlatformClient {

  private static final Logger log = LoggerFactory.getLogger(PlatformClient.class);

  private final Settings settings;
  private final String base;
  private final HttpClient http;
  private final PageReader reader;

  public PlatformClient(Settings settings, ObjectMapper json) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.base = settings.baseUrl().toString().replaceAll("/+$", "");
    this.reader = new PageReader(settings, Objects.requireNonNull(json, "json"));
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(settings.connectTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
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
    HttpResponse<byte[]> response =
        send(request(path, accessToken, limit, marker), request, accessToken);
    log.debug(
        "{} (after={}) answered {} with {} bytes in {} ms",
        request,
        marker,
        response.statusCode(),
        response.body().length,
        (System.nanoTime() - started) / 1_000_000);
    return interpret(response, request);
  }

  private HttpRequest request(String path, String token, int limit, String marker) {
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
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(uri)
            .timeout(settings.readTimeout())
            .header("Accept", "application/json")
            .GET();
    if (settings.tokenPlacement() == TokenPlacement.HEADER) {
      try {
        builder.header("Authorization", "Bearer " + token);
      } catch (IllegalArgumentException e) {
        // the JDK's message quotes the header value, so it is not passed on
        throw new IllegalArgumentException("the access token has characters a header cannot hold");
      }
    }
    return builder.build();
  }

  private HttpResponse<byte[]> send(HttpRequest httpRequest, String request, String token) {
    try {
      return http.send(httpRequest, HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpTimeoutException e) {
      throw transientFailure(request + " timed out", e, token);
    } catch (IOException e) {
      throw transientFailure(request + " failed", e, token);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransientPlatformException(request + " was interrupted");
    }
  }

  private Page interpret(HttpResponse<byte[]> response, String request) {
    int status = response.statusCode();
    if (status >= 200 && status < 300) {
      return reader.read(response.body(), request);
    }
    if (status == 429) {
      String header = response.headers().firstValue("Retry-After").orElse(null);
      throw new RateLimitedException(request, RetryAfter.parse(header, Instant.now()));
    }
    if (status == 401 || status == 403) {
      throw new UnauthorizedException(request, status);
    }
    if (status >= 500 || status == 408) {
      throw new TransientPlatformException(request + " answered " + status);
    }
    throw new UnexpectedStatusException(request, status);
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

    /** The default contract of ARCHITECTURE.md §4, with 2 s connect and 10 s read timeouts. */
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
