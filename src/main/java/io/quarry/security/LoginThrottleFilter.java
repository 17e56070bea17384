package io.quarry.security;

import io.quarry.web.Problems;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.core.context.SecurityContextHolderStrategy;
import org.springframework.security.web.authentication.UsernamePasswordAuthenticationFilter;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Sits in front of Spring Security's login filters and asks the {@link LoginThrottle} about every
 * request that is about to have a password checked: one with an HTTP Basic header, or the login
 * form's POST. During a cool-down it answers 429 with {@code Retry-After} and a problem body,
 * before the password is looked at, so the right password is refused too. A request of a logged-in
 * session has no password checked and passes untouched.
 */
final class LoginThrottleFilter extends OncePerRequestFilter {

  private static final RequestMatcher LOGIN_FORM =
      PathPatternRequestMatcher.withDefaults().matcher(HttpMethod.POST, "/login");

  private final LoginThrottle throttle;
  private final SecurityContextHolderStrategy context =
      SecurityContextHolder.getContextHolderStrategy();

  LoginThrottleFilter(LoginThrottle throttle) {
    this.throttle = throttle;
  }

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String username = passwordCheckedFor(request);
    if (username != null) {
      Optional<Duration> wait = throttle.check(username, request.getRemoteAddr());
      if (wait.isPresent()) {
        long seconds = LoginThrottle.seconds(wait.get());
        response.setHeader(HttpHeaders.RETRY_AFTER, String.valueOf(seconds));
        Problems.write(
            response,
            HttpStatus.TOO_MANY_REQUESTS,
            "too many failed logins: try again in " + seconds + " seconds",
            null);
        return;
      }
    }
    chain.doFilter(request, response);
  }

  /**
   * The user name whose password Spring Security is going to check for this request, or null. The
   * login form's name is the parameter {@link UsernamePasswordAuthenticationFilter} reads; a Basic
   * header is read as {@code BasicAuthenticationConverter} does, and not checked when it names the
   * user already logged in ({@code BasicAuthenticationFilter#authenticationIsRequired}).
   */
  private String passwordCheckedFor(HttpServletRequest request) {
    if (LOGIN_FORM.matches(request)) {
      String username =
          request.getParameter(
              UsernamePasswordAuthenticationFilter.SPRING_SECURITY_FORM_USERNAME_KEY);
      return username == null ? "" : username.trim();
    }
    String header = request.getHeader(HttpHeaders.AUTHORIZATION);
    if (header == null) {
      return null;
    }
    header = header.trim();
    if (!header.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String token;
    try {
      token =
          new String(
              Base64.getDecoder().decode(header.substring(6).getBytes(StandardCharsets.UTF_8)),
              StandardCharsets.UTF_8);
    } catch (IllegalArgumentException notBase64) {
      return null; // refused by BasicAuthenticationFilter without a password check
    }
    int colon = token.indexOf(':');
    if (colon < 0) {
      return null;
    }
    String username = token.substring(0, colon);
    Authentication current = context.getContext().getAuthentication();
    boolean loggedInAsThatUser =
        current != null
            && current.isAuthenticated()
            && !(current instanceof AnonymousAuthenticationToken)
            && current.getName().equals(username);
    return loggedInAsThatUser ? null : username;
  }
}
