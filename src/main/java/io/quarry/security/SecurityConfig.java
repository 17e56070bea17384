package io.quarry.security;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.config.InvalidConfigurationException;
import io.quarry.config.QuarryProperties;
import io.quarry.config.validation.ProdCredentials;
import io.quarry.web.Problems;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.actuate.autoconfigure.security.servlet.EndpointRequest;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.core.env.Profiles;
import org.springframework.core.io.Resource;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.access.AccessDeniedHandlerImpl;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.authentication.UsernamePasswordAuthenticationFilter;
import org.springframework.security.web.header.writers.ContentSecurityPolicyHeaderWriter;
import org.springframework.security.web.header.writers.DelegatingRequestMatcherHeaderWriter;
import org.springframework.security.web.header.writers.ReferrerPolicyHeaderWriter.ReferrerPolicy;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.AndRequestMatcher;
import org.springframework.security.web.util.matcher.NegatedRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;

/**
 * Two filter chains. Requests with {@code Authorization: Bearer} belong to the machine clients of
 * {@code quarry.security.api-clients}: stateless, no CSRF, the API only. Everything else is for
 * people: health (with its liveness and readiness groups) is public, the rest needs a login. The
 * Hawtio console and Jolokia can stop routes (by POST with the CSRF token, see {@link
 * JolokiaAccess}), so they need the admin role; metrics and Quarry's read-only pages accept the
 * viewer too; changing anything through the API needs the admin. Both accounts come from
 * configuration; in the {@code prod} profile a missing password stops start-up. The CSRF token is
 * bound to the session ({@link SessionCsrfTokenRepository}); Quarry's pages carry a strict
 * Content-Security-Policy.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class SecurityConfig {

  public static final String ADMIN = "ADMIN";
  public static final String VIEWER = "VIEWER";

  /** The role every machine client has besides its admin or viewer role. */
  public static final String API_CLIENT = "API_CLIENT";

  /**
   * Quarry's own pages load their script, style and data from Quarry only and may not be framed.
   * Hawtio's console sets a policy of its own and is left out.
   */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          + " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
          + " frame-ancestors 'none'";

  /**
   * Spring Security's login page carries its style inline; everything else is as strict as above.
   */
  static final String LOGIN_PAGE_POLICY =
      CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

  /**
   * Machine clients: a request with {@code Authorization: Bearer} is decided here alone. No
   * session, no CSRF token (a browser never adds this header by itself), and nothing but the API:
   * reading it with either role, changing things as admin. An unknown token is answered 401 by
   * {@link ApiTokenFilter} before any of this.
   */
  @Bean
  @Order(1)
  SecurityFilterChain apiClientFilterChain(
      HttpSecurity http, QuarryProperties properties, MeterRegistry meters) throws Exception {
    ApiClients clients = ApiClients.parse(properties.security().apiClients());
    http.securityMatcher(ApiTokenFilter::hasBearer)
        .authorizeHttpRequests(
            requests ->
                requests
                    .requestMatchers(HttpMethod.GET, "/api/**")
                    .hasAnyRole(VIEWER, ADMIN)
                    .requestMatchers("/api/**")
                    .hasRole(ADMIN)
                    .anyRequest()
                    .denyAll())
        .addFilterBefore(new ApiTokenFilter(clients, meters), AnonymousAuthenticationFilter.class)
        .sessionManagement(
            sessions -> sessions.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
        .requestCache(cache -> cache.disable())
        .csrf(csrf -> csrf.disable())
        .exceptionHandling(errors -> errors.accessDeniedHandler(new ApiClientDeniedHandler()));
    return http.build();
  }

  @Bean
  @Order(2)
  SecurityFilterChain securityFilterChain(HttpSecurity http, LoginThrottle loginThrottle)
      throws Exception {
    RequestMatcher hawtio = PathPatternRequestMatcher.withDefaults().matcher("/actuator/hawtio/**");
    RequestMatcher login = PathPatternRequestMatcher.withDefaults().matcher("/login");
    http.addFilterBefore(
        new LoginThrottleFilter(loginThrottle), UsernamePasswordAuthenticationFilter.class);
    http.authorizeHttpRequests(
            requests ->
                requests
                    .requestMatchers(EndpointRequest.to(HealthEndpoint.class))
                    .permitAll()
                    .requestMatchers("/error")
                    .permitAll()
                    .requestMatchers("/actuator/hawtio/**", "/actuator/jolokia/**")
                    .hasRole(ADMIN)
                    .requestMatchers(HttpMethod.GET, "/api/**")
                    .hasAnyRole(VIEWER, ADMIN)
                    .requestMatchers("/api/**")
                    .hasRole(ADMIN)
                    .anyRequest()
                    .hasAnyRole(VIEWER, ADMIN))
        .httpBasic(Customizer.withDefaults())
        .formLogin(Customizer.withDefaults())
        .exceptionHandling(errors -> errors.accessDeniedHandler(new CredentialsFirstHandler()))
        .csrf(
            csrf ->
                csrf.csrfTokenRepository(new SessionCsrfTokenRepository())
                    .csrfTokenRequestHandler(new SpaCsrfTokenRequestHandler()))
        .headers(
            headers ->
                headers
                    .referrerPolicy(
                        referrer -> referrer.policy(ReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN))
                    .addHeaderWriter(
                        new DelegatingRequestMatcherHeaderWriter(
                            login, new ContentSecurityPolicyHeaderWriter(LOGIN_PAGE_POLICY)))
                    .addHeaderWriter(
                        new DelegatingRequestMatcherHeaderWriter(
                            new AndRequestMatcher(
                                new NegatedRequestMatcher(hawtio),
                                new NegatedRequestMatcher(login)),
                            new ContentSecurityPolicyHeaderWriter(CONTENT_SECURITY_POLICY))));
    return http.build();
  }

  /** An API client that lacks the role, or asks for something outside the API: 403, said why. */
  static final class ApiClientDeniedHandler implements AccessDeniedHandler {
    @Override
    public void handle(
        HttpServletRequest request, HttpServletResponse response, AccessDeniedException exception)
        throws IOException {
      boolean api = request.getRequestURI().startsWith(request.getContextPath() + "/api/");
      Problems.write(
          response,
          HttpStatus.FORBIDDEN,
          api
              ? "this API client has the viewer role and may only read"
              : "API clients may only use /api",
          request.getRequestURI());
    }
  }

  /**
   * A state-changing request is checked for its CSRF token before its credentials are read, so
   * without this an anonymous POST would get 403. A caller that sent no credentials at all (no
   * Authorization header, no logged-in session) gets 401 and the Basic challenge instead; a caller
   * that did and lacks the role or the token gets 403.
   */
  static final class CredentialsFirstHandler implements AccessDeniedHandler {

    private final AccessDeniedHandler denied = new AccessDeniedHandlerImpl();

    @Override
    public void handle(
        HttpServletRequest request, HttpServletResponse response, AccessDeniedException exception)
        throws IOException, ServletException {
      Authentication current = SecurityContextHolder.getContext().getAuthentication();
      boolean loggedIn =
          current != null
              && current.isAuthenticated()
              && !(current instanceof AnonymousAuthenticationToken);
      if (!loggedIn && request.getHeader(HttpHeaders.AUTHORIZATION) == null) {
        response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Basic realm=\"Quarry\"");
        response.sendError(HttpServletResponse.SC_UNAUTHORIZED, "Unauthorized");
        return;
      }
      denied.handle(request, response, exception);
    }
  }

  /**
   * Jolokia's restrictor: the policy file (jolokia.config.policyLocation), exec by POST only, and
   * an audit line per exec or write. Jolokia picks up a Restrictor bean instead of reading the file
   * itself, which would allow everything if the file were missing.
   */
  @Bean
  JolokiaAccess jolokiaAccess(@Value("${jolokia.config.policyLocation}") Resource policy) {
    return new JolokiaAccess(policy);
  }

  /** Runs after Spring Security, so only the admin's requests reach it. */
  @Bean
  FilterRegistrationBean<JolokiaProxyRefusal> jolokiaProxyRefusal() {
    var registration = new FilterRegistrationBean<>(new JolokiaProxyRefusal());
    registration.addUrlPatterns("/actuator/jolokia", "/actuator/jolokia/*");
    registration.setDispatcherTypes(DispatcherType.REQUEST);
    return registration;
  }

  @Bean
  PasswordEncoder passwordEncoder() {
    return PasswordEncoderFactories.createDelegatingPasswordEncoder();
  }

  @Bean
  InMemoryUserDetailsManager users(
      QuarryProperties properties, PasswordEncoder encoder, Environment environment) {
    boolean prod = environment.acceptsProfiles(Profiles.of("prod"));
    QuarryProperties.Security security = properties.security();
    return new InMemoryUserDetailsManager(
        account("quarry.security.admin", security.admin(), encoder, prod, ADMIN, VIEWER),
        account("quarry.security.viewer", security.viewer(), encoder, prod, VIEWER));
  }

  private static UserDetails account(
      String key,
      QuarryProperties.Account account,
      PasswordEncoder encoder,
      boolean prod,
      String... roles) {
    String password = account.password();
    if (password == null || password.isBlank()) {
      throw new InvalidConfigurationException(
          key + ".password",
          prod
              ? "must be set in the prod profile (there is no default password in prod)"
              : "must be set");
    }
    if (prod && !password.startsWith("{") && password.length() < 12) {
      throw new InvalidConfigurationException(
          key + ".password", "must have at least 12 characters in the prod profile");
    }
    ProdCredentials.unusable(password)
        .ifPresent(
            reason -> {
              throw new InvalidConfigurationException(key + ".password", reason);
            });
    String encoded = password.startsWith("{") ? password : encoder.encode(password);
    return User.withUsername(account.username()).password(encoded).roles(roles).build();
  }
}
