package io.quarry.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.web.Problems;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses the Jolokia requests Quarry does not serve instead of half-answering them: a request with
 * a {@code target} (proxy mode, which would make Quarry open JMX connections to other hosts; the
 * JSR-160 module is left out, so Jolokia would silently answer from Quarry's own JVM) and a {@code
 * callback} parameter (JSONP, which makes an answer loadable as a script by a foreign page). Both
 * are answered 403 with a problem body. The body is read once (its size is already bounded by
 * {@code quarry.http.max-request-body}) and handed on unchanged.
 */
final class JolokiaProxyRefusal extends OncePerRequestFilter {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    if (request.getParameter("callback") != null) {
      Problems.write(
          response,
          HttpStatus.FORBIDDEN,
          "Jolokia answers only as JSON: the callback parameter (JSONP) is refused",
          request.getRequestURI());
      return;
    }
    if (!HttpMethod.POST.matches(request.getMethod())) {
      chain.doFilter(request, response);
      return;
    }
    byte[] body = request.getInputStream().readAllBytes();
    if (hasTarget(body)) {
      Problems.write(
          response,
          HttpStatus.FORBIDDEN,
          "Jolokia's proxy mode is off: a request with a target (another JVM) is refused",
          request.getRequestURI());
      return;
    }
    chain.doFilter(new Replayed(request, body), response);
  }

  /** A request, or any request of a bulk, that names a target; unreadable JSON is Jolokia's. */
  static boolean hasTarget(byte[] body) {
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (IOException e) {
      return false;
    }
    if (tree == null) {
      return false;
    }
    if (tree.isArray()) {
      for (JsonNode request : tree) {
        if (request.has("target")) {
          return true;
        }
      }
      return false;
    }
    return tree.has("target");
  }

  /** The request with its body to read again. */
  private static final class Replayed extends HttpServletRequestWrapper {
    private final byte[] body;

    Replayed(HttpServletRequest request, byte[] body) {
      super(request);
      this.body = body;
    }

    @Override
    public ServletInputStream getInputStream() {
      ByteArrayInputStream in = new ByteArrayInputStream(body);
      return new ServletInputStream() {
        @Override
        public int read() {
          return in.read();
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
          return in.read(buffer, offset, length);
        }

        @Override
        public boolean isFinished() {
          return in.available() == 0;
        }

        @Override
        public boolean isReady() {
          return true;
        }

        @Override
        public void setReadListener(ReadListener listener) {
          throw new UnsupportedOperationException("the body is already read");
        }
      };
    }

    @Override
    public BufferedReader getReader() {
      String encoding = getCharacterEncoding();
      return new BufferedReader(
          new InputStreamReader(
              new ByteArrayInputStream(body),
              encoding == null
                  ? StandardCharsets.UTF_8
                  : java.nio.charset.Charset.forName(encoding)));
    }

    @Override
    public int getContentLength() {
      return body.length;
    }

    @Override
    public long getContentLengthLong() {
      return body.length;
    }
  }
}
