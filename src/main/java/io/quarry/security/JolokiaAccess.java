package io.quarry.security;

import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import javax.management.ObjectName;
import org.jolokia.server.core.restrictor.policy.PolicyRestrictor;
import org.jolokia.server.core.service.api.Restrictor;
import org.jolokia.server.core.util.HttpMethod;
import org.jolokia.server.core.util.RequestType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.Resource;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/**
 * Jolokia's restrictor (jolokia-support-springboot3 uses a {@link Restrictor} bean instead of its
 * own). The MBean rules are Jolokia's policy file, {@code jolokia-access.xml}; this adds what a
 * policy file cannot say:
 *
 * <ul>
 *   <li>exec and write only in a POST, which Spring Security lets through only with the CSRF token:
 *       a GET is a link, and a link from another site carries the admin's session cookie;
 *   <li>an operation is matched by its name, so {@code stop()} and {@code stop(long)} both meet the
 *       rule for {@code stop} and no signature slips past a rule;
 *   <li>no origin is sent {@code Access-Control-Allow-Origin}: Hawtio is served from Quarry's own
 *       origin, and no other site may read Jolokia's answers with the admin's cookie;
 *   <li>every exec and write Jolokia is asked for is logged, allowed (INFO) or refused (WARN), with
 *       the user, the client address, the MBean and the operation or attribute, never a value.
 * </ul>
 *
 * Jolokia's own {@code <cors><strict-checking/>} is not used: it refuses every request without an
 * Origin or Referer header, that is every script; the CSRF token already guards each change.
 */
public final class JolokiaAccess implements Restrictor {

  private static final Logger log = LoggerFactory.getLogger(JolokiaAccess.class);

  private final Restrictor policy;

  public JolokiaAccess(Resource policyFile) {
    try (InputStream in = policyFile.getInputStream()) {
      this.policy = new PolicyRestrictor(in);
    } catch (IOException e) {
      // Jolokia would fall back to allowing everything; Quarry does not start instead.
      throw new IllegalStateException("Jolokia policy " + policyFile + " cannot be read", e);
    }
  }

  @Override
  public boolean isOperationAllowed(ObjectName mbean, String operation) {
    return audited("exec", mbean, operation, policy.isOperationAllowed(mbean, name(operation)));
  }

  @Override
  public boolean isAttributeWriteAllowed(ObjectName mbean, String attribute) {
    return audited("write", mbean, attribute, policy.isAttributeWriteAllowed(mbean, attribute));
  }

  @Override
  public boolean isOriginAllowed(String origin, boolean strictCheck) {
    // Called with strictCheck for every request (allowed: no strict checking, see above) and
    // without it to decide whether to answer CORS (never).
    return strictCheck;
  }

  @Override
  public boolean isHttpMethodAllowed(HttpMethod method) {
    return policy.isHttpMethodAllowed(method);
  }

  @Override
  public boolean isTypeAllowed(RequestType type) {
    return policy.isTypeAllowed(type);
  }

  @Override
  public boolean isAttributeReadAllowed(ObjectName mbean, String attribute) {
    return policy.isAttributeReadAllowed(mbean, attribute);
  }

  @Override
  public boolean isRemoteAccessAllowed(String... hostOrAddress) {
    return policy.isRemoteAccessAllowed(hostOrAddress);
  }

  @Override
  public boolean isObjectNameHidden(ObjectName name) {
    return policy.isObjectNameHidden(name);
  }

  @Override
  public boolean ignoreScheme() {
    return policy.ignoreScheme();
  }

  /** "stop(long)" and "stop()" are "stop" to the policy. */
  static String name(String operation) {
    int signature = operation.indexOf('(');
    return signature < 0 ? operation : operation.substring(0, signature);
  }

  private static boolean audited(String type, ObjectName mbean, String member, boolean byPolicy) {
    HttpServletRequest request =
        RequestContextHolder.getRequestAttributes() instanceof ServletRequestAttributes attributes
            ? attributes.getRequest()
            : null;
    boolean post = request != null && "POST".equals(request.getMethod());
    Authentication user = SecurityContextHolder.getContext().getAuthentication();
    String who = user == null ? "nobody" : user.getName();
    String client = request == null ? "unknown" : request.getRemoteAddr();
    String target = clean(mbean.getCanonicalName()) + " " + clean(member);
    if (!post) {
      log.warn("Jolokia {} refused (not a POST) for {} from {}: {}", type, who, client, target);
      return false;
    }
    if (!byPolicy) {
      log.warn("Jolokia {} refused by policy for {} from {}: {}", type, who, client, target);
      return false;
    }
    log.info("Jolokia {} by {} from {}: {}", type, who, client, target);
    return true;
  }

  /** An MBean name or operation comes from the request: no line breaks into the log. */
  private static String clean(String text) {
    return text.replaceAll("[\\r\\n]", "_");
  }
}
