package io.quarry.security;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseCookie;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.security.web.csrf.CsrfTokenRepository;
import org.springframework.security.web.csrf.DeferredCsrfToken;
import org.springframework.security.web.csrf.HttpSessionCsrfTokenRepository;
import org.springframework.util.StringUtils;
import org.springframework.web.util.WebUtils;

/**
 * The CSRF token lives in the HTTP session; the {@code XSRF-TOKEN} cookie is only a copy for the
 * scripts that echo it in {@code X-XSRF-TOKEN} (Hawtio, the dashboard). Spring's cookie repository
 * compares the header with the cookie, so a client that sets both to a value of its own passes;
 * here the header is compared with the session's token, which no other site can read or choose.
 *
 * <p>The cookie is {@code SameSite=Strict}, readable by the page's scripts (that is its purpose),
 * and {@code Secure} when the request came over TLS (directly or, with forwarded headers
 * configured, through the proxy).
 */
final class SessionCsrfTokenRepository implements CsrfTokenRepository {

  static final String COOKIE = "XSRF-TOKEN";
  static final String HEADER = "X-XSRF-TOKEN";

  private final HttpSessionCsrfTokenRepository session = new HttpSessionCsrfTokenRepository();

  SessionCsrfTokenRepository() {
    session.setHeaderName(HEADER);
  }

  @Override
  public CsrfToken generateToken(HttpServletRequest request) {
    return session.generateToken(request);
  }

  @Override
  public void saveToken(CsrfToken token, HttpServletRequest request, HttpServletResponse response) {
    session.saveToken(token, request, response);
    writeCookie(token == null ? "" : token.getToken(), request, response);
  }

  @Override
  public CsrfToken loadToken(HttpServletRequest request) {
    return session.loadToken(request);
  }

  /**
   * As the default, plus: a token already in the session is copied to the cookie again when the
   * browser lost or altered its copy, so the page's scripts always read the one that counts.
   */
  @Override
  public DeferredCsrfToken loadDeferredToken(
      HttpServletRequest request, HttpServletResponse response) {
    DeferredCsrfToken deferred = CsrfTokenRepository.super.loadDeferredToken(request, response);
    return new DeferredCsrfToken() {
      @Override
      public CsrfToken get() {
        CsrfToken token = deferred.get();
        if (!deferred.isGenerated()) {
          var cookie = WebUtils.getCookie(request, COOKIE);
          if (cookie == null || !token.getToken().equals(cookie.getValue())) {
            writeCookie(token.getToken(), request, response);
          }
        }
        return token;
      }

      @Override
      public boolean isGenerated() {
        return deferred.isGenerated();
      }
    };
  }

  private static void writeCookie(
      String value, HttpServletRequest request, HttpServletResponse response) {
    String path = StringUtils.hasLength(request.getContextPath()) ? request.getContextPath() : "/";
    ResponseCookie cookie =
        ResponseCookie.from(COOKIE, value)
            .path(path)
            .secure(request.isSecure())
            .httpOnly(false)
            .sameSite("Strict")
            .maxAge(value.isEmpty() ? 0 : -1)
            .build();
    response.addHeader(HttpHeaders.SET_COOKIE, cookie.toString());
  }
}
