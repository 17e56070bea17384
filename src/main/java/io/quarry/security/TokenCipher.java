package io.quarry.security;

import io.quarry.config.QuarryProperties;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Encrypts users' platform access tokens at rest with AES-256-GCM (random 96-bit nonce stored in
 * front of the ciphertext). A tampered or wrongly keyed value fails to decrypt instead of yielding
 * garbage.
 */
@Component
public class TokenCipher {

  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final SecretKey key;
  private final SecureRandom random = new SecureRandom();

  @Autowired
  public TokenCipher(QuarryProperties properties) {
    this(properties.security().tokenKey());
  }

  public TokenCipher(String base64Key) {
    this.key = new SecretKeySpec(Base64.getDecoder().decode(base64Key.trim()), "AES");
  }

  public byte[] encrypt(String token) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      byte[] sealed = cipher.doFinal(token.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is unavailable", e);
    }
  }

  public String decrypt(byte[] stored) {
    if (stored == null || stored.length <= NONCE_BYTES) {
      throw new TokenDecryptionException("stored token is empty or truncated");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, stored, 0, NONCE_BYTES));
      byte[] plain = cipher.doFinal(stored, NONCE_BYTES, stored.length - NONCE_BYTES);
      return new String(plain, StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      throw new TokenDecryptionException(
          "stored token cannot be decrypted with quarry.security.token-key (tampered or another key)");
    }
  }

  /** A token that does not decrypt: wrong key or altered bytes. Never carries the token. */
  public static class TokenDecryptionException extends RuntimeException {
    public TokenDecryptionException(String message) {
      super(message);
    }
  }
}
