package io.quarry.security;

import io.quarry.config.InvalidConfigurationException;
import io.quarry.config.QuarryProperties;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Encrypts users' platform access tokens at rest with AES-256-GCM under a ring of keys: the current
 * key ({@code quarry.security.token-key}) encrypts, the previous keys ({@code
 * quarry.security.previous-token-keys}) only decrypt, so the key can change without losing the
 * tokens stored under the old one.
 *
 * <p>A value is {@code 0x01 || key id (4 bytes) || nonce (12 bytes) || ciphertext and tag}; the
 * version byte and the key id are authenticated with the ciphertext. The key id (a SHA-256
 * fingerprint of the key, never the key) picks the key that decrypts and tells which values are not
 * yet under the current key. Values written before the ring ({@code nonce || ciphertext and tag},
 * no header) still decrypt: every key is tried. A tampered value, or one under a key no longer
 * configured, fails to decrypt instead of yielding garbage.
 */
@Component
public class TokenCipher {

  static final byte VERSION = 1;
  static final int KEY_ID_BYTES = 4;

  private static final Logger log = LoggerFactory.getLogger(TokenCipher.class);
  private static final String CURRENT_KEY = "quarry.security.token-key";
  private static final String PREVIOUS_KEYS = "quarry.security.previous-token-keys";
  private static final int HEADER_BYTES = 1 + KEY_ID_BYTES;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final int TAG_BYTES = TAG_BITS / 8;

  private final RingKey current;
  // The current key first, then the previous ones in their configured order.
  private final List<RingKey> ring;
  private final SecureRandom random = new SecureRandom();

  @Autowired
  public TokenCipher(QuarryProperties properties) {
    this(properties.security().tokenKey(), properties.security().previousTokenKeys());
    log.info(
        "Token keys: current {}, previous {} (key ids, not keys)",
        currentKeyId(),
        ring.subList(1, ring.size()).stream().map(RingKey::hexId).toList());
  }

  /** A ring of one key. */
  public TokenCipher(String base64Key) {
    this(base64Key, List.of());
  }

  /**
   * @param currentKey Base64 of the key that encrypts
   * @param previousKeys Base64 of keys that only decrypt; each listed once, none the current key
   */
  public TokenCipher(String currentKey, List<String> previousKeys) {
    this.current = RingKey.of(currentKey);
    List<RingKey> keys = new ArrayList<>(List.of(current));
    for (int i = 0; i < previousKeys.size(); i++) {
      RingKey previous = RingKey.of(previousKeys.get(i));
      for (int j = 0; j < keys.size(); j++) {
        if (keys.get(j).sameKeyAs(previous)) {
          throw new InvalidConfigurationException(
              PREVIOUS_KEYS + "[" + i + "]",
              "is the same key as "
                  + (j == 0 ? CURRENT_KEY : PREVIOUS_KEYS + "[" + (j - 1) + "]")
                  + ": list each key once, and the current key only in "
                  + CURRENT_KEY);
        }
      }
      keys.add(previous);
    }
    this.ring = List.copyOf(keys);
  }

  /** The id of the key that encrypts, as 8 hex digits: safe to log and show. */
  public String currentKeyId() {
    return current.hexId();
  }

  /** Encrypts with the current key. */
  public byte[] encrypt(String token) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    byte[] header = ByteBuffer.allocate(HEADER_BYTES).put(VERSION).put(current.id()).array();
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, current.secret(), new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(header);
      byte[] sealed = cipher.doFinal(token.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.allocate(HEADER_BYTES + NONCE_BYTES + sealed.length)
          .put(header)
          .put(nonce)
          .put(sealed)
          .array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is unavailable", e);
    }
  }

  /** The token in clear, with whichever key of the ring encrypted it. */
  public String decrypt(byte[] stored) {
    return open(stored).token();
  }

  /**
   * Decrypts and tells whether the value is already in the current format under the current key
   * (else a re-encryption moves it there).
   *
   * @throws TokenDecryptionException when no key of the ring decrypts the value
   */
  public Decrypted open(byte[] stored) {
    if (stored == null || stored.length < NONCE_BYTES + TAG_BYTES) {
      throw new TokenDecryptionException("stored token is empty or truncated");
    }
    if (stored[0] == VERSION && stored.length >= HEADER_BYTES + NONCE_BYTES + TAG_BYTES) {
      for (RingKey key : ring) {
        if (key.isIdOf(stored)) {
          String token = open(key, stored, true);
          if (token != null) {
            return new Decrypted(token, key == current, key.hexId());
          }
        }
      }
    }
    // Written before the ring (or a value without a known key id): no header, every key is tried.
    // A value that merely starts like a header fails the authentication above and ends up here.
    for (RingKey key : ring) {
      String token = open(key, stored, false);
      if (token != null) {
        return new Decrypted(token, false, key.hexId());
      }
    }
    throw new TokenDecryptionException(
        "stored token cannot be decrypted with "
            + CURRENT_KEY
            + " or any of "
            + PREVIOUS_KEYS
            + " (tampered, or encrypted with a key no longer configured)");
  }

  /** The token in clear, or null when this key does not open the value in this layout. */
  private static String open(RingKey key, byte[] stored, boolean withHeader) {
    int nonceAt = withHeader ? HEADER_BYTES : 0;
    int sealedAt = nonceAt + NONCE_BYTES;
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(
          Cipher.DECRYPT_MODE,
          key.secret(),
          new GCMParameterSpec(TAG_BITS, stored, nonceAt, NONCE_BYTES));
      if (withHeader) {
        cipher.updateAAD(stored, 0, HEADER_BYTES);
      }
      byte[] plain = cipher.doFinal(stored, sealedAt, stored.length - sealedAt);
      return new String(plain, StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      return null;
    }
  }

  /**
   * A decrypted token.
   *
   * @param token the token in clear: never log it
   * @param current whether the value was in the current format under the current key
   * @param keyId the id of the key that decrypted it
   */
  public record Decrypted(String token, boolean current, String keyId) {
    @Override
    public String toString() {
      return "Decrypted[token=****, current=" + current + ", keyId=" + keyId + "]";
    }
  }

  /** One key of the ring and its id. */
  private record RingKey(SecretKey secret, byte[] id) {

    static RingKey of(String base64) {
      byte[] raw = Base64.getDecoder().decode(base64.trim());
      try {
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        sha256.update("quarry-token-key-id:".getBytes(StandardCharsets.US_ASCII));
        byte[] fingerprint = sha256.digest(raw);
        return new RingKey(
            new SecretKeySpec(raw, "AES"), java.util.Arrays.copyOf(fingerprint, KEY_ID_BYTES));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("SHA-256 is unavailable", e);
      }
    }

    boolean isIdOf(byte[] stored) {
      return java.util.Arrays.equals(stored, 1, HEADER_BYTES, id, 0, KEY_ID_BYTES);
    }

    boolean sameKeyAs(RingKey other) {
      return MessageDigest.isEqual(secret.getEncoded(), other.secret.getEncoded());
    }

    String hexId() {
      return HexFormat.of().formatHex(id);
    }

    @Override
    public String toString() {
      return "RingKey[" + hexId() + "]";
    }
  }

  /** A token that does not decrypt: wrong key or altered bytes. Never carries the token. */
  public static class TokenDecryptionException extends RuntimeException {
    public TokenDecryptionException(String message) {
      super(message);
    }
  }
}
