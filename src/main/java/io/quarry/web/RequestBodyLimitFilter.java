package io.quarry.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.springframework.http.HttpStatus;
import org.springframework.util.unit.DataSize;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses a request body over {@code quarry.http.max-request-body} with 413 and a problem body.
 * Tomcat limits form posts but not JSON, so without this a 10 MB body was read and answered 201. A
 * declared {@code Content-Length} over the limit is refused before anything is read; a chunked body
 * is counted as it is read and refused when it passes the limit ({@link TooLargeException}, which
 * {@link ApiErrors} answers when the body was being read by a controller).
 */
final class RequestBodyLimitFilter extends OncePerRequestFilter {

  /** Thrown by the counting stream once the body passes the limit. */
  static final class TooLargeException extends IOException {
    TooLargeException(String message) {
      super(message);
    }
  }

  private final long limit;
  private final String detail;

  RequestBodyLimitFilter(DataSize limit) {
    this.limit = limit.toBytes();
    this.detail =
        "the request body is larger than the limit of "
            + Problems.size(limit)
            + " (quarry.http.max-request-body)";
  }

  String detail() {
    return detail;
  }

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    if (request.getContentLengthLong() > limit) {
      refuse(request, response);
      return;
    }
    try {
      chain.doFilter(new Limited(request), response);
    } catch (IOException | ServletException | RuntimeException e) {
      if (!causedByTooLarge(e) || response.isCommitted()) {
        throw e;
      }
      response.reset();
      refuse(request, response);
    }
  }

  private void refuse(HttpServletRequest request, HttpServletResponse response) throws IOException {
    // The rest of the body is not read: the connection cannot carry another request.
    response.setHeader("Connection", "close");
    Problems.write(response, HttpStatus.PAYLOAD_TOO_LARGE, detail, request.getRequestURI());
  }

  static boolean causedByTooLarge(Throwable e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof TooLargeException) {
        return true;
      }
      if (cause.getCause() == cause) {
        break;
      }
    }
    return false;
  }

  private final class Limited extends HttpServletRequestWrapper {

    private ServletInputStream stream;
    private BufferedReader reader;

    Limited(HttpServletRequest request) {
      super(request);
    }

    @Override
    public ServletInputStream getInputStream() throws IOException {
      if (stream == null) {
        stream = new Counting(super.getInputStream());
      }
      return stream;
    }

    @Override
    public BufferedReader getReader() throws IOException {
      if (reader == null) {
        String encoding = getCharacterEncoding();
        Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding);
        reader = new BufferedReader(new InputStreamReader(getInputStream(), charset));
      }
      return reader;
    }
  }

  private final class Counting extends ServletInputStream {

    private final ServletInputStream in;
    private long read;

    Counting(ServletInputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      if (b >= 0) {
        count(1);
      }
      return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      int n = in.read(buffer, offset, length);
      if (n > 0) {
        count(n);
      }
      return n;
    }

    private void count(int n) throws TooLargeException {
      read += n;
      if (read > limit) {
        throw new TooLargeException(detail);
      }
    }

    @Override
    public boolean isFinished() {
      return in.isFinished();
    }

    @Override
    public boolean isReady() {
      return in.isReady();
    }

    @Override
    public void setReadListener(ReadListener listener) {
      in.setReadListener(listener);
    }
  }
}
