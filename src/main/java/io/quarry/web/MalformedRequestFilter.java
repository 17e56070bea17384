package io.quarry.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.HttpStatus;
import org.springframework.security.web.firewall.HttpFirewall;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Runs Spring Security's firewall ahead of every other filter. A URL such as {@code
 * /actuator//jolokia/version} otherwise reaches Spring MVC's path parsing (which runs before the
 * security filter chain) and fails there with a 500 and a stack trace; here it is answered 400 by
 * the {@link RequestRejectedHandler}. A direct request for {@code /error} (not an error dispatch)
 * is answered 404: Spring Boot's error page has no error to show then and answered 500.
 */
final class MalformedRequestFilter extends OncePerRequestFilter {

  private final HttpFirewall firewall;
  private final RequestRejectedHandler rejected;

  MalformedRequestFilter(HttpFirewall firewall, RequestRejectedHandler rejected) {
    this.firewall = firewall;
    this.rejected = rejected;
  }

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    try {
      firewall.getFirewalledRequest(request);
    } catch (RequestRejectedException e) {
      rejected.handle(request, response, e);
      return;
    }
    String path = request.getRequestURI().substring(request.getContextPath().length());
    if (path.equals("/error") || path.startsWith("/error/")) {
      Problems.write(
          response, HttpStatus.NOT_FOUND, "no resource at " + path, request.getRequestURI());
      return;
    }
    chain.doFilter(request, response);
  }
}
