package io.quarry.platform.sim;

import com.fasterxml.jackson.databind.node.TextNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Serves {@code GET /users/{userId}/{stream}?limit=&after=}, or the user's {@link ApiStyle}, with
 * the user's scenario applied.
 */
final class SimulatorHandler implements HttpHandler {

  private static final int DEFAULT_LIMIT = 100;

  private final PlatformSimulator simulator;
  private final SimulatedPages pages = new SimulatedPages();
  private final StyledPages styled = new StyledPages();

  SimulatorHandler(PlatformSimulator simulator) {
    this.simulator = simulator;
  }

  @Override
  public void handle(HttpExchange exchange) {
    try {
      Response response;
      try {
        response = respond(exchange);
      } catch (IllegalArgumentException badRequest) {
        response = Response.error(400, "bad request: " + badRequest.getMessage());
      }
      exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
      response.headers().forEach(exchange.getResponseHeaders()::set);
      exchange.sendResponseHeaders(response.status(), response.body().length);
      exchange.getResponseBody().write(response.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException clientGone) {
      // the client stopped waiting (its read timeout): nobody is left to answer
    } finally {
      exchange.close();
    }
  }

  private Response respond(HttpExchange exchange) throws InterruptedException {
    String[] segments = exchange.getRequestURI().getRawPath().split("/", -1);
    if (segments.length != 4
        || !"users".equals(segments[1])
        || segments[2].isEmpty()
        || segments[3].isEmpty()) {
      return Response.error(404, "no such resource");
    }
    if (!"GET".equals(exchange.getRequestMethod())) {
      return Response.error(405, "only GET");
    }
    String userId = decodePath(segments[2]);
    String stream = decodePath(segments[3]);
    Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    String apiKey = exchange.getRequestHeaders().getFirst("X-Api-Key");
    UserScenario user = simulator.user(userId);
    user.received(new ReceivedRequest(stream, query, authorization, apiKey, Instant.now()));
    simulator.counted(exchange.getRemoteAddress());
    Thread.sleep(simulator.latency().toMillis());
    String host = exchange.getRequestHeaders().getFirst("Host");
    Response response =
        serve(user, userId, stream, query, token(authorization, apiKey, query), host);
    return withRateLimitHeaders(user, response);
  }

  /** The budget and usage headers of {@link UserScenario#requestBudget} and {@code appUsage}. */
  private static Response withRateLimitHeaders(UserScenario user, Response response) {
    long[] budget = user.spendBudget();
    if (budget != null) {
      boolean over = budget[0] < 0 && response.status() != 401;
      if (over) {
        response = Response.error(403, "API rate limit exceeded for user");
      }
      response =
          response
              .with("X-RateLimit-Remaining", Long.toString(Math.max(0, budget[0])))
              .with("X-RateLimit-Reset", Long.toString(budget[1]));
    }
    int usage = user.takeUsage();
    if (usage >= 0) {
      response =
          response.with(
              "x-app-usage", "{\"call_count\":" + usage + ",\"total_time\":1,\"total_cputime\":1}");
    }
    return response;
  }

  private Response serve(
      UserScenario user,
      String userId,
      String stream,
      Map<String, String> query,
      String token,
      String host) {
    if (!user.accepts(token) || user.isUnauthorized()) {
      return Response.error(401, "invalid or missing access token")
          .with("WWW-Authenticate", "Bearer");
    }
    if (user.isForbidden()) {
      return Response.error(403, "token lacks the rights for this resource");
    }
    ApiStyle style = simulator.styleOf(user, stream);
    Integer faultPage =
        style == ApiStyle.STANDARD
            ? SimulatedPages.pageOf(query.get("after"))
            : StyledPages.pageOf(style, query);
    if (user.takeServerError(stream, faultPage)) {
      return Response.error(500, "simulated server error");
    }
    Integer code = user.takeBodyError(faultPage);
    if (code != null) {
      return Response.graphError(user.bodyErrorStatus(), code);
    }
    if (user.takeRateLimit()) {
      long seconds = Math.max(0, (user.retryAfter().toMillis() + 999) / 1000);
      return Response.error(429, "rate limited").with("Retry-After", Long.toString(seconds));
    }
    if (style != ApiStyle.STANDARD) {
      String queryToken = query.getOrDefault("access_token", query.get("api_key"));
      StyledPages.Answer answer =
          styled.serve(
              style,
              user,
              userId,
              stream,
              query,
              host,
              queryToken,
              user.pagesOr(simulator.defaultPages()));
      return new Response(answer.status(), answer.body(), answer.headers());
    }
    int limit = positive(query.getOrDefault("limit", Integer.toString(DEFAULT_LIMIT)));
    Integer page = SimulatedPages.pageOf(query.get("after"));
    byte[] body =
        page == null
            ? null
            : pages.body(userId, stream, page, limit, user, user.pagesOr(simulator.defaultPages()));
    return body == null ? Response.error(400, "unknown marker") : new Response(200, body, Map.of());
  }

  private static int positive(String number) {
    try {
      int value = Integer.parseInt(number);
      if (value >= 1) {
        return value;
      }
    } catch (NumberFormatException notANumber) {
      // answered below
    }
    throw new IllegalArgumentException("limit must be a positive integer");
  }

  /**
   * The token from {@code Authorization: Bearer} or {@code Authorization: token} (a code host's),
   * an {@code X-Api-Key} header, or the {@code access_token} or {@code api_key} query parameter.
   */
  private static String token(String authorization, String apiKey, Map<String, String> query) {
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return authorization.substring(7).trim();
    }
    if (authorization != null && authorization.regionMatches(true, 0, "token ", 0, 6)) {
      return authorization.substring(6).trim();
    }
    if (apiKey != null) {
      return apiKey.trim();
    }
    return query.getOrDefault("access_token", query.get("api_key"));
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> query = new HashMap<>();
    if (raw != null) {
      for (String pair : raw.split("&")) {
        int equals = pair.indexOf('=');
        String name = equals < 0 ? pair : pair.substring(0, equals);
        String value = equals < 0 ? "" : pair.substring(equals + 1);
        query.put(decode(name), decode(value));
      }
    }
    return query;
  }

  private static String decodePath(String segment) {
    return decode(segment.replace("+", "%2B"));
  }

  private static String decode(String text) {
    return URLDecoder.decode(text, StandardCharsets.UTF_8);
  }

  private record Response(int status, byte[] body, Map<String, String> headers) {

    static Response error(int status, String message) {
      String json = "{\"error\":" + TextNode.valueOf(message) + "}";
      return new Response(status, json.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    /** A Graph-style error: {@code {"error":{"message":…,"type":…,"code":N}}}. */
    static Response graphError(int status, int code) {
      String json =
          "{\"error\":{\"message\":\"simulated error "
              + code
              + "\",\"type\":\""
              + (code == 190 ? "OAuthException" : "GraphMethodException")
              + "\",\"code\":"
              + code
              + "}}";
      return new Response(status, json.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    Response with(String header, String value) {
      Map<String, String> all = new HashMap<>(headers);
      all.put(header, value);
      return new Response(status, body, all);
    }
  }
}
