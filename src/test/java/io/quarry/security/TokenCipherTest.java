package io.quarry.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class TokenCipherTest {

  private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);
  private static final String OTHER_KEY =
      Base64.getEncoder()
          .encodeToString("another-32-byte-key-for-testing!".getBytes(StandardCharsets.UTF_8));
  private final TokenCipher cipher = new TokenCipher(KEY);

  @Test
  void roundTripsAndNeverStoresTheTokenInClear() {
    String token = "EAAB-secret-access-token";
    byte[] sealed = cipher.encrypt(token);
    assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain(token);
    assertThat(cipher.decrypt(sealed)).isEqualTo(token);
  }

  @Test
  void theSameTokenEncryptsDifferentlyEachTime() {
    assertThat(cipher.encrypt("token")).isNotEqualTo(cipher.encrypt("token"));
  }

  @Test
  void aTamperedValueFailsWithoutRevealingAnything() {
    byte[] sealed = cipher.encrypt("token-123");
    sealed[sealed.length - 1] ^= 1;
    assertThatThrownBy(() -> cipher.decrypt(sealed))
        .isInstanceOf(TokenCipher.TokenDecryptionException.class)
        .hasMessageNotContaining("token-123");
  }

  @Test
  void anotherKeyCannotDecrypt() {
    byte[] sealed = cipher.encrypt("token-123");
    assertThatThrownBy(() -> new TokenCipher(OTHER_KEY).decrypt(sealed))
        .isInstanceOf(TokenCipher.TokenDecryptionException.class);
  }
}
