package io.quarry.support;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Performs a state-changing request the way a browser client does: first a GET to receive the
 * {@code XSRF-TOKEN} cookie, then the request with that token echoed in {@code X-XSRF-TOKEN}.
 */
public final class Csrf {

  private Csrf() {}

  /** POSTs with credentials and a valid CSRF token. */
  public static HttpResponse<String> post(int port, String path, String user, String password) {
    return post(port, path, user, password, (String) null);
  }

  /** POSTs a JSON body with credentials and a valid CSRF token. */
  public static HttpResponse<String> post(
      int port, String path, String user, String password, String json) {
    return post(
        port,
        path,
        user,
        password,
        json == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(json));
  }

  /**
   * POSTs a body as JSON with credentials and a valid CSRF token; a publisher of unknown length
   * sends it chunked.
   */
  public static HttpResponse<String> post(
      int port, String path, String user, String password, HttpRequest.BodyPublisher body) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String auth = Http.basic(user, password);
    try {
      HttpResponse<String> page =
          client.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/jobs"))
                  .header("Authorization", auth)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      String token =
          page.headers().allValues("Set-Cookie").stream()
              .filter(c -> c.startsWith("XSRF-TOKEN="))
              .map(c -> c.substring("XSRF-TOKEN=".length(), c.indexOf(';')))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no XSRF-TOKEN cookie"));
      return client.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
              .header("Authorization", auth)
              .header("Cookie", cookies(page))
              .header("X-XSRF-TOKEN", token)
              .header("Content-Type", "application/json")
              .POST(body)
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * The cookies a response set, as a request's Cookie header: the token is bound to the session, so
   * the session cookie goes back with it.
   */
  public static String cookies(HttpResponse<?> response) {
    return String.join(
        "; ",
        response.headers().allValues("Set-Cookie").stream()
            .map(c -> c.substring(0, c.indexOf(';') < 0 ? c.length() : c.indexOf(';')))
            .toList());
  }

  /** POSTs with credentials but without any CSRF token. */
  public static HttpResponse<String> postWithoutToken(
      int port, String path, String user, String password) {
    try {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                  .header("Authorization", Http.basic(user, password))
                  .POST(HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
