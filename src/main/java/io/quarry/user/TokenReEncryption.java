package io.quarry.user;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.security.TokenCipher;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/**
 * Moves every stored access token to the current token key, the step between adding a new key (the
 * old one listed in {@code quarry.security.previous-token-keys}) and dropping the old one. Walks
 * the users in pages of {@link #BATCH}, re-encrypts what is not yet under the current key and
 * stores it by compare and set, so users registered or re-authorised meanwhile keep their new
 * token. Safe to repeat: a second pass finds everything current.
 */
@Service
public class TokenReEncryption {

  static final int BATCH = 500;

  /** How many undecryptable users the answer names (the count is always complete). */
  static final int NAMED_USERS = 100;

  private static final Logger log = LoggerFactory.getLogger(TokenReEncryption.class);

  /**
   * What a pass did.
   *
   * @param currentKeyId the id of the key every token is now under (8 hex digits, not the key)
   * @param reEncrypted tokens moved to the current key
   * @param alreadyCurrent tokens that were under the current key already
   * @param undecryptable tokens that no configured key decrypts: left as they are, their users are
   *     flagged for re-authorisation when next mined
   * @param changedMeanwhile tokens replaced by a registration during the pass (kept as registered)
   * @param undecryptableUserIds the first {@value #NAMED_USERS} users with an undecryptable token
   */
  public record Result(
      String currentKeyId,
      long reEncrypted,
      long alreadyCurrent,
      long undecryptable,
      long changedMeanwhile,
      List<Long> undecryptableUserIds) {}

  /** A pass is running on this instance: another would only compete for the same rows. */
  public static class AlreadyRunningException extends RuntimeException {
    AlreadyRunningException(String message) {
      super(message);
    }
  }

  private final UserRepository users;
  private final TokenCipher cipher;
  private final MeterRegistry metrics;
  private final AtomicReference<String> running = new AtomicReference<>();

  public TokenReEncryption(UserRepository users, TokenCipher cipher, MeterRegistry metrics) {
    this.users = users;
    this.cipher = cipher;
    this.metrics = metrics;
  }

  /** Re-encrypts every token not under the current key, on behalf of {@code operator}. */
  public Result reEncryptAll(String operator) {
    String mark = operator + " since " + Instant.now();
    if (!running.compareAndSet(null, mark)) {
      throw new AlreadyRunningException(
          "a token re-encryption is already running on this instance (by "
              + running.get()
              + "); nothing was done, try again when it has finished");
    }
    try {
      Result result = pass();
      count(result);
      log.info(
          "Token re-encryption by {}: {} re-encrypted to key {}, {} already current, {} undecryptable"
              + " (users {}), {} changed meanwhile",
          operator,
          result.reEncrypted(),
          result.currentKeyId(),
          result.alreadyCurrent(),
          result.undecryptable(),
          result.undecryptableUserIds(),
          result.changedMeanwhile());
      return result;
    } finally {
      running.set(null);
    }
  }

  private Result pass() {
    long reEncrypted = 0;
    long alreadyCurrent = 0;
    long undecryptable = 0;
    long changedMeanwhile = 0;
    List<Long> undecryptableUsers = new ArrayList<>();
    long after = Long.MIN_VALUE;
    List<UserRepository.StoredToken> page;
    while (!(page = users.tokensAfter(after, BATCH)).isEmpty()) {
      List<UserRepository.Replacement> replacements = new ArrayList<>();
      for (UserRepository.StoredToken stored : page) {
        try {
          TokenCipher.Decrypted token = cipher.open(stored.sealed());
          if (token.current()) {
            alreadyCurrent++;
          } else {
            replacements.add(
                new UserRepository.Replacement(
                    stored.userId(), stored.sealed(), cipher.encrypt(token.token())));
          }
        } catch (TokenCipher.TokenDecryptionException e) {
          undecryptable++;
          if (undecryptableUsers.size() < NAMED_USERS) {
            undecryptableUsers.add(stored.userId());
          }
        }
      }
      int replaced = users.replaceTokens(replacements);
      reEncrypted += replaced;
      changedMeanwhile += replacements.size() - replaced;
      after = page.get(page.size() - 1).userId();
    }
    return new Result(
        cipher.currentKeyId(),
        reEncrypted,
        alreadyCurrent,
        undecryptable,
        changedMeanwhile,
        List.copyOf(undecryptableUsers));
  }

  private void count(Result result) {
    increment("re_encrypted", result.reEncrypted());
    increment("already_current", result.alreadyCurrent());
    increment("undecryptable", result.undecryptable());
    increment("changed_meanwhile", result.changedMeanwhile());
  }

  private void increment(String outcome, long amount) {
    metrics
        .counter("quarry.token.reencryption.tokens", "outcome", outcome)
        .increment((double) amount);
  }
}
