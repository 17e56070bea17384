package io.quarry.security;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.web.Problems;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Authenticates a machine client by {@code Authorization: Bearer <token>} (RFC 6750). It runs only
 * in the filter chain for bearer requests ({@link SecurityConfig}), which has no session and no
 * CSRF check: a browser never sends this header by itself, so a foreign page cannot borrow the
 * credential. An unknown token is answered 401 at once, logged with the caller's address and
 * counted; the token is never logged.
 */
final class ApiTokenFilter extends OncePerRequestFilter {

  static final String PREFIX = "bearer ";

  /** Principal names of API clients carry this prefix, so audit lines tell them from people. */
  static final String PRINCIPAL_PREFIX = "api:";

  private static final Logger log = LoggerFactory.getLogger(ApiTokenFilter.class);

  private final ApiClients clients;
  private final MeterRegistry meters;

  ApiTokenFilter(ApiClients clients, MeterRegistry meters) {
    this.clients = clients;
    this.meters = meters;
  }

  /** Whether the request carries a bearer token (the chain for API clients takes it then). */
  static boolean hasBearer(HttpServletRequest request) {
    String header = request.getHeader(HttpHeaders.AUTHORIZATION);
    return header != null && header.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
  }

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String token = request.getHeader(HttpHeaders.AUTHORIZATION).substring(PREFIX.length()).trim();
    Optional<ApiClients.Client> client =
        token.isEmpty() ? Optional.empty() : clients.identify(token);
    if (client.isEmpty()) {
      meters.counter("quarry.security.api.tokens.rejected").increment();
      log.warn(
          "API token refused: no API client has this token (address {}, {} {})",
          request.getRemoteAddr(),
          request.getMethod(),
          request.getRequestURI());
      response.setHeader(
          HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"Quarry\", error=\"invalid_token\"");
      Problems.write(
          response,
          HttpStatus.UNAUTHORIZED,
          clients.isEmpty()
              ? "no API clients are configured (quarry.security.api-clients)"
              : "the bearer token is not one of an API client (quarry.security.api-clients)",
          request.getRequestURI());
      return;
    }
    String name = client.get().name();
    var authentication =
        UsernamePasswordAuthenticationToken.authenticated(
            PRINCIPAL_PREFIX + name,
            null,
            List.of(
                new SimpleGrantedAuthority("ROLE_" + client.get().role()),
                new SimpleGrantedAuthority("ROLE_" + SecurityConfig.API_CLIENT)));
    SecurityContext context = SecurityContextHolder.createEmptyContext();
    context.setAuthentication(authentication);
    SecurityContextHolder.setContext(context);
    try {
      chain.doFilter(request, response);
    } finally {
      SecurityContextHolder.clearContext();
    }
  }
}
