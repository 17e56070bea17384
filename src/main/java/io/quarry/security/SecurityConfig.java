package io.quarry.security;

import io.quarry.config.InvalidConfigurationException;
import io.quarry.config.QuarryProperties;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.actuate.autoconfigure.security.servlet.EndpointRequest;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.env.Profiles;
import org.springframework.core.io.Resource;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
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
import org.springframework.security.web.authentication.UsernamePasswordAuthenticationFilter;
import org.springframework.security.web.csrf.CookieCsrfTokenRepository;

/**
 * Health (with its liveness and readiness groups) is public; everything else needs a login. The
 * Hawtio console and Jolokia can stop routes (by POST with the CSRF token, see {@link
 * JolokiaAccess}), so they need the admin role; metrics and Quarry's read-only pages accept the
 * viewer too. Both accounts come from configuration; in the {@code prod} profile a missing password
 * stops start-up.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class SecurityConfig {

  public static final String ADMIN = "ADMIN";
  public static final String VIEWER = "VIEWER";

  @Bean
  SecurityFilterChain securityFilterChain(HttpSecurity http, LoginThrottle loginThrottle)
      throws Exception {
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
                    .requestMatchers(HttpMethod.POST, "/api/**")
                    .hasRole(ADMIN)
                    .anyRequest()
                    .hasAnyRole(VIEWER, ADMIN))
        .httpBasic(Customizer.withDefaults())
        .formLogin(Customizer.withDefaults())
        .exceptionHandling(errors -> errors.accessDeniedHandler(new CredentialsFirstHandler()))
        .csrf(
            csrf ->
                csrf.csrfTokenRepository(CookieCsrfTokenRepository.withHttpOnlyFalse())
                    .csrfTokenRequestHandler(new SpaCsrfTokenRequestHandler()));
    return http.build();
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
    String encoded = password.startsWith("{") ? password : encoder.encode(password);
    return User.withUsername(account.username()).password(encoded).roles(roles).build();
  }
}
