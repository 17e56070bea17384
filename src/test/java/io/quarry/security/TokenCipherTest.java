package io.quarry.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.config.InvalidConfigurationException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class TokenCipherTest {

  private static final String KEY_A = key("key-a-32-bytes-for-testing-only!");
  private static final String KEY_B = key("key-b-32-bytes-for-testing-only!");
  private static final String KEY_C = key("key-c-32-bytes-for-testing-only!");

  private final TokenCipher cipher = new TokenCipher(KEY_A);

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
  void aValueInTheFormatBeforeTheRingStillDecryptsUnderTheCurrentOrAPreviousKey() {
    byte[] underA = legacy(KEY_A, "legacy-token-a");
    byte[] underB = legacy(KEY_B, "legacy-token-b");
    TokenCipher ring = new TokenCipher(KEY_B, List.of(KEY_A));

    assertThat(cipher.decrypt(underA)).isEqualTo("legacy-token-a");
    assertThat(ring.decrypt(underA)).isEqualTo("legacy-token-a");
    assertThat(ring.decrypt(underB)).isEqualTo("legacy-token-b");
    assertThat(ring.open(underB).current())
        .as("an old-format value is re-encrypted even under the current key")
        .isFalse();
  }

  @Test
  void anOldFormatValueWhoseNonceHappensToLookLikeAHeaderStillDecrypts() {
    byte[] nonce = new byte[12];
    nonce[0] = TokenCipher.VERSION;
    System.arraycopy(HexFormat.of().parseHex(cipher.currentKeyId()), 0, nonce, 1, 4);

    byte[] lookalike = legacy(KEY_A, "legacy-token", nonce);

    assertThat(cipher.decrypt(lookalike)).isEqualTo("legacy-token");
    assertThat(cipher.open(lookalike).current()).isFalse();
  }

  @Test
  void theCurrentKeyEncryptsAndItsIdLeadsTheValue() {
    TokenCipher ring = new TokenCipher(KEY_B, List.of(KEY_A));

    byte[] sealed = ring.encrypt("new-token");

    assertThat(sealed[0]).as("format version").isEqualTo(TokenCipher.VERSION);
    assertThat(HexFormat.of().formatHex(Arrays.copyOfRange(sealed, 1, 5)))
        .isEqualTo(ring.currentKeyId())
        .isEqualTo(new TokenCipher(KEY_B).currentKeyId());
    assertThat(new TokenCipher(KEY_B).decrypt(sealed)).isEqualTo("new-token");
    assertThatThrownBy(() -> new TokenCipher(KEY_A).decrypt(sealed))
        .as("not encrypted with the previous key")
        .isInstanceOf(TokenCipher.TokenDecryptionException.class);
    TokenCipher.Decrypted opened = ring.open(sealed);
    assertThat(opened.current()).isTrue();
    assertThat(opened.keyId()).isEqualTo(ring.currentKeyId());
  }

  @Test
  void aPreviousKeyDecryptsWhatItEncryptedButIsNotCurrent() {
    byte[] underA = new TokenCipher(KEY_A).encrypt("token-under-a");
    TokenCipher ring = new TokenCipher(KEY_B, List.of(KEY_C, KEY_A));

    TokenCipher.Decrypted opened = ring.open(underA);

    assertThat(opened.token()).isEqualTo("token-under-a");
    assertThat(opened.current()).isFalse();
    assertThat(opened.keyId()).isEqualTo(new TokenCipher(KEY_A).currentKeyId());
  }

  @Test
  void aValueUnderAKeyOutsideTheRingFailsWithoutRevealingAnything() {
    byte[] underC = new TokenCipher(KEY_C).encrypt("token-123");
    byte[] legacyUnderC = legacy(KEY_C, "token-456");
    TokenCipher ring = new TokenCipher(KEY_B, List.of(KEY_A));

    assertThatThrownBy(() -> ring.decrypt(underC))
        .isInstanceOf(TokenCipher.TokenDecryptionException.class)
        .hasMessageContaining("quarry.security.previous-token-keys")
        .hasMessageNotContaining("token-123")
        .hasMessageNotContaining(KEY_C);
    assertThatThrownBy(() -> ring.decrypt(legacyUnderC))
        .isInstanceOf(TokenCipher.TokenDecryptionException.class);
  }

  @Test
  void aTamperedValueFailsInEveryPart() {
    TokenCipher ring = new TokenCipher(KEY_B, List.of(KEY_A));
    byte[] sealed = ring.encrypt("EAAB-secret-123");
    String idOfA = new TokenCipher(KEY_A).currentKeyId();

    byte[] body = sealed.clone();
    body[body.length - 1] ^= 1;
    byte[] version = sealed.clone();
    version[0] = 2;
    byte[] keyId = sealed.clone();
    System.arraycopy(HexFormat.of().parseHex(idOfA), 0, keyId, 1, 4);
    byte[] legacyBody = legacy(KEY_A, "EAAB-secret-456");
    legacyBody[20] ^= 1;

    for (byte[] tampered : List.of(body, version, keyId, legacyBody, Arrays.copyOf(sealed, 20))) {
      assertThatThrownBy(() -> ring.decrypt(tampered))
          .isInstanceOf(TokenCipher.TokenDecryptionException.class)
          .hasMessageNotContaining("EAAB");
    }
    assertThatThrownBy(() -> ring.decrypt(null))
        .isInstanceOf(TokenCipher.TokenDecryptionException.class);
  }

  @Test
  void aKeyIdIsAShortStableFingerprintThatDiffersPerKey() {
    String idOfA = new TokenCipher(KEY_A).currentKeyId();

    assertThat(idOfA).matches("[0-9a-f]{8}");
    assertThat(new TokenCipher(" " + KEY_A + " ").currentKeyId()).isEqualTo(idOfA);
    assertThat(new TokenCipher(KEY_B).currentKeyId()).isNotEqualTo(idOfA);
    assertThat(HexFormat.of().formatHex(Base64.getDecoder().decode(KEY_A)))
        .as("the id is not a piece of the key")
        .doesNotContain(idOfA);
  }

  @Test
  void aKeyListedTwiceIsRefusedNamingItsIndex() {
    assertThatThrownBy(() -> new TokenCipher(KEY_B, List.of(KEY_A, KEY_B)))
        .isInstanceOf(InvalidConfigurationException.class)
        .hasMessageContaining("quarry.security.previous-token-keys[1] is the same key as")
        .hasMessageContaining("quarry.security.token-key")
        .hasMessageNotContaining(KEY_B);
    assertThatThrownBy(() -> new TokenCipher(KEY_B, List.of(KEY_A, KEY_C, KEY_A)))
        .isInstanceOf(InvalidConfigurationException.class)
        .hasMessageContaining(
            "quarry.security.previous-token-keys[2] is the same key as"
                + " quarry.security.previous-token-keys[0]");
  }

  @Test
  void aDecryptedTokenNeverShowsInItsText() {
    TokenCipher.Decrypted opened = cipher.open(cipher.encrypt("EAAB-secret"));
    assertThat(opened.toString()).doesNotContain("EAAB-secret").contains("****");
  }

  private static String key(String thirtyTwoCharacters) {
    return Base64.getEncoder()
        .encodeToString(thirtyTwoCharacters.getBytes(StandardCharsets.US_ASCII));
  }

  /** A value as Quarry stored it before the key ring: nonce || ciphertext and tag, no header. */
  static byte[] legacy(String base64Key, String token) {
    byte[] nonce = new byte[12];
    new SecureRandom().nextBytes(nonce);
    return legacy(base64Key, token, nonce);
  }

  private static byte[] legacy(String base64Key, String token, byte[] nonce) {
    try {
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(
          Cipher.ENCRYPT_MODE,
          new SecretKeySpec(Base64.getDecoder().decode(base64Key), "AES"),
          new GCMParameterSpec(128, nonce));
      byte[] sealed = gcm.doFinal(token.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.allocate(12 + sealed.length).put(nonce).put(sealed).array();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
