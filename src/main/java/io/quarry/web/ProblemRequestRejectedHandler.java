package io.quarry.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.security.web.firewall.RequestRejectedHandler;

/**
 * Answers a request the firewall refuses (a {@code //}, an encoded {@code .} or {@code /}, a
 * control character in a header) 400 with a problem body, and logs one line at DEBUG: scanners send
 * these by the thousand, and none is a fault of Quarry's.
 */
final class ProblemRequestRejectedHandler implements RequestRejectedHandler {

  private static final Logger log = LoggerFactory.getLogger(ProblemRequestRejectedHandler.class);

  @Override
  public void handle(
      HttpServletRequest request, HttpServletResponse response, RequestRejectedException rejected)
      throws IOException {
    String reason = rejected.getMessage();
    log.debug("Refused {} request: {}", request.getMethod(), printable(reason));
    if (response.isCommitted()) {
      return;
    }
    response.reset();
    Problems.write(response, HttpStatus.BAD_REQUEST, "malformed request: " + reason, null);
  }

  private static String printable(String text) {
    return text == null ? null : text.replaceAll("\\p{Cc}", "?");
  }
}
