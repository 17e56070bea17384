package io.quarry.config.validation;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.crypto.password.Pbkdf2PasswordEncoder;

/** The prod password rule, value by value; an accepted hash must also log in. */
class ProdCredentialsTest {

  private static final String CLEAR = "correct-horse-battery";
  private static final PasswordEncoder LOGIN =
      PasswordEncoderFactories.createDelegatingPasswordEncoder();

  static Stream<String> strongHashes() {
    return Stream.of(
        "{bcrypt}" + new BCryptPasswordEncoder(10).encode(CLEAR),
        "{bcrypt}" + new BCryptPasswordEncoder(12).encode(CLEAR),
        LOGIN.encode(CLEAR),
        "{pbkdf2}" + Pbkdf2PasswordEncoder.defaultsForSpringSecurity_v5_5().encode(CLEAR),
        "{pbkdf2@SpringSecurity_v5_8}"
            + Pbkdf2PasswordEncoder.defaultsForSpringSecurity_v5_8().encode(CLEAR));
  }

  @ParameterizedTest
  @MethodSource("strongHashes")
  void aStrongHashIsAcceptedAndLogsIn(String hash) {
    assertThat(ProdCredentials.passwordProblem(hash)).isEmpty();
    assertThat(LOGIN.matches(CLEAR, hash)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"twelve-chars", "a much longer pass phrase", "}starts-with-a-brace"})
  void aPlainPasswordOfTwelveOrMoreCharactersIsAccepted(String password) {
    assertThat(ProdCredentials.passwordProblem(password)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "eleven-char",
        "{noop}x",
        "{noop}a-long-password-in-clear",
        "{abc}defghijkl",
        "{}defghijklmnop",
        "{BCRYPT}$2a$10$E9zc7cidqZwlQTfjo7cLju6fTmNr8rH1Hp7o5iNBMayUJ2CL.I/9.",
        "{bcrypt}$2a$04$GMAU8emFdD6DxQuynNTLHuRGIfUlpIfc8k5cOxDARitQLo16eZRt.",
        "{bcrypt}",
        "{pbkdf2}abcdef",
        "{MD5}5f4dcc3b5aa765d61d8327deb882cf99",
        "{SHA-256}{salt}digest",
        "{argon2}$argon2id$v=19$m=16384,t=2,p=1$c2FsdA$aGFzaA",
        "{scrypt}$e0801$c2FsdA==$aGFzaA==",
        "{unterminated-long-password",
      })
  void everythingElseIsRefusedWithWhatIsAccepted(String password) {
    assertThat(ProdCredentials.passwordProblem(password))
        .get()
        .asString()
        .satisfiesAnyOf(
            reason -> assertThat(reason).contains(ProdCredentials.ACCEPTED),
            reason -> assertThat(reason).contains("must be set"));
  }

  @Test
  void aRefusalNeverEchoesTheValue() {
    assertThat(ProdCredentials.passwordProblem("{secretid}secret-value"))
        .get()
        .asString()
        .doesNotContain("secret");
  }
}
