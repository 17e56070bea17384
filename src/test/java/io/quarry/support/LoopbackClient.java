package io.quarry.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.entity.UrlEncodedFormEntity;
import org.apache.hc.client5.http.impl.DefaultSchemePortResolver;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.impl.routing.DefaultRoutePlanner;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.message.BasicNameValuePair;
import org.apache.hc.core5.http.protocol.HttpContext;

/**
 * HTTP requests to the application under test from a loopback address of the test's choosing
 * ({@code 127.0.0.2}, {@code 127.0.0.3}, ...: Linux routes all of 127.0.0.0/8 to the loopback
 * interface), so that one test can be several clients as {@code request.getRemoteAddr()} sees them.
 * No cookies are kept and no redirect is followed; a test passes the session cookie itself.
 */
public final class LoopbackClient implements AutoCloseable {

  /** What came back. */
  public record Response(int status, List<Header> headers, String body) {

    public Optional<String> header(String name) {
      return headers.stream()
          .filter(h -> h.getName().equalsIgnoreCase(name))
          .map(Header::getValue)
          .findFirst();
    }

    /** The cookies the response sets, as a request's {@code Cookie} header. */
    public String cookies() {
      return String.join(
          "; ",
          headers.stream()
              .filter(h -> h.getName().equalsIgnoreCase("Set-Cookie"))
              .map(h -> h.getValue().split(";", 2)[0])
              .toList());
    }

    /** The value of a cookie the response sets, e.g. {@code JSESSIONID}. */
    public Optional<String> cookie(String name) {
      return headers.stream()
          .filter(h -> h.getName().equalsIgnoreCase("Set-Cookie"))
          .map(Header::getValue)
          .filter(c -> c.startsWith(name + "="))
          .map(c -> c.substring(name.length() + 1, c.contains(";") ? c.indexOf(';') : c.length()))
          .findFirst();
    }
  }

  private final String base;
  private final String address;
  private final CloseableHttpClient client;

  /** A client whose connections come from {@code address}, e.g. {@code 127.0.0.11}. */
  public LoopbackClient(int port, String address) {
    this.base = "http://127.0.0.1:" + port;
    this.address = address;
    InetAddress local;
    try {
      local = InetAddress.getByName(address);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(address, e);
    }
    this.client =
        HttpClients.custom()
            .setRoutePlanner(
                new DefaultRoutePlanner(DefaultSchemePortResolver.INSTANCE) {
                  @Override
                  protected InetAddress determineLocalAddress(
                      HttpHost firstHop, HttpContext context) {
                    return local;
                  }
                })
            .setConnectionManager(
                PoolingHttpClientConnectionManagerBuilder.create()
                    .setMaxConnPerRoute(16)
                    .setMaxConnTotal(16)
                    .build())
            .disableCookieManagement()
            .disableRedirectHandling()
            .disableAutomaticRetries()
            .build();
  }

  public String address() {
    return address;
  }

  /** A GET with HTTP Basic credentials. */
  public Response get(String path, String user, String password) {
    HttpGet get = new HttpGet(base + path);
    get.setHeader("Authorization", Http.basic(user, password));
    return send(get);
  }

  /** A GET with a session cookie and no credentials. */
  public Response get(String path, String sessionCookie) {
    HttpGet get = new HttpGet(base + path);
    get.setHeader("Cookie", "JSESSIONID=" + sessionCookie);
    return send(get);
  }

  /**
   * The login form as a browser sends it: the page first, for the session and the {@code
   * XSRF-TOKEN} cookie (a copy of the session's CSRF token), then the POST with both cookies and
   * the token echoed. The answer is a redirect: to {@code /login?error} when the password was
   * wrong.
   */
  public Response logIn(String user, String password) {
    Response page = send(new HttpGet(base + "/login"));
    String token =
        page.cookie("XSRF-TOKEN").orElseThrow(() -> new AssertionError("no XSRF-TOKEN cookie"));
    HttpPost post = new HttpPost(base + "/login");
    post.setHeader("Cookie", page.cookies());
    post.setHeader("X-XSRF-TOKEN", token);
    post.setEntity(
        new UrlEncodedFormEntity(
            List.of(
                new BasicNameValuePair("username", user),
                new BasicNameValuePair("password", password)),
            StandardCharsets.UTF_8));
    return send(post);
  }

  private Response send(HttpUriRequestBase request) {
    try {
      return client.execute(
          request,
          response ->
              new Response(
                  response.getCode(),
                  Arrays.asList(response.getHeaders()),
                  response.getEntity() == null
                      ? ""
                      : EntityUtils.toString(response.getEntity(), StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new UncheckedIOException(request.getMethod() + " " + request.getRequestUri(), e);
    }
  }

  @Override
  public void close() {
    try {
      client.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
