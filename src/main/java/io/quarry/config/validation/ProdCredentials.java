package io.quarry.config.validation;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.util.ClassUtils;

/**
 * What the prod profile accepts as a console password: a plain password of at least 12 characters
 * (SecurityConfig encodes it with bcrypt at start-up), or a hash that Spring Security's delegating
 * encoder can check and that is not weak. Everything else is refused before the first login: a
 * {@code {noop}} or weak hash would let a guessable or clear-text value through, and an unknown
 * {@code {id}} or malformed hash makes every login answer 500 or fail.
 *
 * <p>Reasons never echo the password, nor an unknown prefix (it may be part of a password).
 */
public final class ProdCredentials {

  public static final int MIN_PLAIN_LENGTH = 12;

  public static final String ACCEPTED =
      "accepted: a plain password of at least "
          + MIN_PLAIN_LENGTH
          + " characters, or a {bcrypt} hash (cost 10 or more) or a {pbkdf2} hash";

  /** Encoder ids of the delegating encoder that are weak or keep the password in clear. */
  private static final Set<String> WEAK =
      Set.of("noop", "MD4", "MD5", "SHA-1", "SHA-256", "sha256", "ldap");

  private static final Pattern PREFIXED = Pattern.compile("\\{([^{}]*)}(.*)", Pattern.DOTALL);

  private static final Pattern BCRYPT =
      Pattern.compile("\\$2[aby]?\\$(\\d\\d)\\$[./0-9A-Za-z]{53}");
  private static final String BASE64 = "[A-Za-z0-9+/]+={0,2}";
  private static final Pattern ARGON2 =
      Pattern.compile(
          "\\$argon2(id|i|d)\\$v=\\d+\\$m=\\d+,t=\\d+,p=\\d+\\$" + BASE64 + "\\$" + BASE64);
  private static final Pattern SCRYPT =
      Pattern.compile("\\$[0-9a-f]+\\$" + BASE64 + "\\$" + BASE64);

  /**
   * Strong encoder ids and the shape of the value each one produces. The pbkdf2 ones are hex of
   * salt and hash: 8 + 32 bytes for {@code pbkdf2}, 16 + 32 for the 5.8 defaults.
   */
  private static final Map<String, Pattern> STRONG =
      Map.of(
          "bcrypt", BCRYPT,
          "pbkdf2", Pattern.compile("[0-9a-fA-F]{80}"),
          "pbkdf2@SpringSecurity_v5_8", Pattern.compile("[0-9a-fA-F]{96}"),
          "argon2", ARGON2,
          "argon2@SpringSecurity_v5_8", ARGON2,
          "scrypt", SCRYPT,
          "scrypt@SpringSecurity_v5_8", SCRYPT);

  /** Argon2 and scrypt run on Bouncy Castle, which Quarry does not ship. */
  private static final String BOUNCY_CASTLE = "org.bouncycastle.crypto.params.Argon2Parameters";

  private ProdCredentials() {}

  /** Why the prod profile refuses this console password, or empty when it accepts it. */
  public static Optional<String> passwordProblem(String password) {
    if (password == null || password.isBlank()) {
      return Optional.of("must be set in the prod profile (there is no default password in prod)");
    }
    if (!password.startsWith("{")) {
      return password.length() < MIN_PLAIN_LENGTH
          ? Optional.of(
              "must have at least "
                  + MIN_PLAIN_LENGTH
                  + " characters in the prod profile; "
                  + ACCEPTED)
          : Optional.empty();
    }
    Optional<String> unusable = unusable(password);
    if (unusable.isPresent()) {
      return unusable;
    }
    Matcher prefixed = PREFIXED.matcher(password);
    prefixed.matches();
    String id = prefixed.group(1);
    String hash = prefixed.group(2);
    if (id.equals("noop")) {
      return Optional.of(
          "must not be {noop} in the prod profile (the password would be kept in clear); "
              + ACCEPTED);
    }
    if (WEAK.contains(id)) {
      return Optional.of(
          "must not use the weak hash {" + id + "} in the prod profile; " + ACCEPTED);
    }
    Pattern shape = STRONG.get(id);
    Matcher value = shape.matcher(hash);
    if (!value.matches()) {
      return Optional.of("is not a well-formed {" + id + "} hash; " + ACCEPTED);
    }
    if (id.equals("bcrypt") && Integer.parseInt(value.group(1)) < 10) {
      return Optional.of("is a {bcrypt} hash of cost below 10; " + ACCEPTED);
    }
    return Optional.empty();
  }

  /**
   * Why no profile can use this console password, or empty: an {@code {id}} prefix that names no
   * encoder of Spring Security's delegating encoder, or one that needs a library Quarry does not
   * ship. Either would start and then answer every login with an error. Other profiles still take
   * {@code {noop}} and weak hashes; prod refuses those too ({@link #passwordProblem}).
   */
  public static Optional<String> unusable(String password) {
    if (password == null || !password.startsWith("{")) {
      return Optional.empty();
    }
    Matcher prefixed = PREFIXED.matcher(password);
    if (!prefixed.matches()) {
      return Optional.of("starts with '{' but has no {id} prefix; " + ACCEPTED);
    }
    String id = prefixed.group(1);
    if (!WEAK.contains(id) && !STRONG.containsKey(id)) {
      return Optional.of("has an {id} prefix that names no known password encoder; " + ACCEPTED);
    }
    if ((id.startsWith("argon2") || id.startsWith("scrypt"))
        && !ClassUtils.isPresent(BOUNCY_CASTLE, ProdCredentials.class.getClassLoader())) {
      return Optional.of(
          "uses {"
              + id
              + "}, which needs Bouncy Castle and Quarry does not ship it (every login would fail"
              + " with an error); "
              + ACCEPTED);
    }
    return Optional.empty();
  }
}
