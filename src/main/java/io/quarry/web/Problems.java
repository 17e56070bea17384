package io.quarry.web;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.util.unit.DataSize;

/**
 * Writes an RFC 9457 problem body from a servlet filter, where Spring MVC's {@code ProblemDetail}
 * handling does not reach: the same fields as {@link org.springframework.http.ProblemDetail}. Also
 * used by the login throttle in front of Spring Security's authentication filters.
 */
public final class Problems {

  private static final ObjectMapper JSON = new ObjectMapper();

  private Problems() {}

  /** Answers {@code status} with a problem body; {@code instance} is left out when null. */
  public static void write(
      HttpServletResponse response, HttpStatus status, String detail, String instance)
      throws IOException {
    Map<String, Object> problem = new LinkedHashMap<>();
    problem.put("type", "about:blank");
    problem.put("title", status.getReasonPhrase());
    problem.put("status", status.value());
    problem.put("detail", detail);
    if (instance != null) {
      problem.put("instance", instance);
    }
    byte[] body = JSON.writeValueAsBytes(problem);
    response.setStatus(status.value());
    response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
    response.flushBuffer();
  }

  /** {@code 1MB}, {@code 512KB} or {@code 1500B}: the way the configuration writes it. */
  static String size(DataSize size) {
    long bytes = size.toBytes();
    if (bytes > 0 && bytes % DataSize.ofMegabytes(1).toBytes() == 0) {
      return size.toMegabytes() + "MB";
    }
    if (bytes > 0 && bytes % DataSize.ofKilobytes(1).toBytes() == 0) {
      return size.toKilobytes() + "KB";
    }
    return bytes + "B";
  }
}
