package io.quarry.user;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.security.TokenCipher;
import io.quarry.user.UserRepository.Replacement;
import io.quarry.user.UserRepository.StoredToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mockito.ArgumentCaptor;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** A re-encryption pass over mocked storage: what it rewrites, what it counts, what it says. */
@ExtendWith(OutputCaptureExtension.class)
class TokenReEncryptionTest {

  private static final String KEY_A = key("key-a-32-bytes-for-testing-only!");
  private static final String KEY_B = key("key-b-32-bytes-for-testing-only!");
  private static final String KEY_C = key("key-c-32-bytes-for-testing-only!");

  private final UserRepository users = mock(UserRepository.class);
  private final TokenCipher ring = new TokenCipher(KEY_B, List.of(KEY_A));
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final TokenReEncryption reEncryption = new TokenReEncryption(users, ring, meters);

  @Test
  void movesEveryTokenNotUnderTheCurrentKeyAndCountsTheRest(CapturedOutput output) {
    byte[] underA = new TokenCipher(KEY_A).encrypt("token-1");
    byte[] underB = ring.encrypt("token-2");
    byte[] underC = new TokenCipher(KEY_C).encrypt("token-3");
    byte[] alsoUnderA = new TokenCipher(KEY_A).encrypt("token-4");
    when(users.tokensAfter(Long.MIN_VALUE, TokenReEncryption.BATCH))
        .thenReturn(List.of(new StoredToken(1, underA), new StoredToken(2, underB)));
    when(users.tokensAfter(2, TokenReEncryption.BATCH))
        .thenReturn(List.of(new StoredToken(5, underC), new StoredToken(9, alsoUnderA)));
    when(users.tokensAfter(9, TokenReEncryption.BATCH)).thenReturn(List.of());
    List<List<Replacement>> written = new ArrayList<>();
    // User 9 re-registers during the pass: its compare and set finds another value.
    when(users.replaceTokens(anyList()))
        .thenAnswer(
            call -> {
              List<Replacement> replacements = call.getArgument(0);
              written.add(replacements);
              return (int) replacements.stream().filter(r -> r.userId() != 9).count();
            });

    TokenReEncryption.Result result = reEncryption.reEncryptAll("the-admin");

    assertThat(result)
        .isEqualTo(new TokenReEncryption.Result(ring.currentKeyId(), 1, 1, 1, 1, List.of(5L)));
    assertThat(written.get(0)).singleElement().satisfies(r -> assertThat(r.userId()).isEqualTo(1));
    Replacement first = written.get(0).get(0);
    assertThat(first.read()).as("compared with the value read").isEqualTo(underA);
    assertThat(new TokenCipher(KEY_B).decrypt(first.sealed()))
        .as("under the current key alone")
        .isEqualTo("token-1");
    assertThat(written.get(1)).extracting(Replacement::userId).containsExactly(9L);
    assertThat(
            meters.counter("quarry.token.reencryption.tokens", "outcome", "re_encrypted").count())
        .isEqualTo(1);
    assertThat(
            meters.counter("quarry.token.reencryption.tokens", "outcome", "undecryptable").count())
        .isEqualTo(1);
    assertThat(output.getAll().lines().filter(l -> l.contains("Token re-encryption by the-admin")))
        .singleElement()
        .asString()
        .contains("1 re-encrypted to key " + ring.currentKeyId())
        .contains("1 undecryptable (users [5])")
        .doesNotContain("token-1")
        .doesNotContain(KEY_B);
  }

  @Test
  void aSecondPassFindsEverythingCurrentAndWritesNothing() {
    when(users.tokensAfter(Long.MIN_VALUE, TokenReEncryption.BATCH))
        .thenReturn(List.of(new StoredToken(3, ring.encrypt("token"))));
    when(users.tokensAfter(3, TokenReEncryption.BATCH)).thenReturn(List.of());
    when(users.replaceTokens(anyList())).thenReturn(0);

    TokenReEncryption.Result result = reEncryption.reEncryptAll("the-admin");

    assertThat(result.alreadyCurrent()).isEqualTo(1);
    assertThat(result.reEncrypted()).isZero();
    @SuppressWarnings("unchecked")
    ArgumentCaptor<List<Replacement>> replacements = ArgumentCaptor.forClass(List.class);
    verify(users).replaceTokens(replacements.capture());
    assertThat(replacements.getValue()).isEmpty();
  }

  @Test
  void aSecondPassWhileOneRunsIsRefusedAndTheFirstStillFinishes() {
    List<Throwable> refused = new ArrayList<>();
    when(users.tokensAfter(anyLong(), anyInt()))
        .thenAnswer(
            call -> {
              // An admin's second click arrives while the first pass reads its first page.
              if (refused.isEmpty()) {
                try {
                  reEncryption.reEncryptAll("another-admin");
                } catch (TokenReEncryption.AlreadyRunningException e) {
                  refused.add(e);
                }
              }
              return List.of();
            });

    TokenReEncryption.Result result = reEncryption.reEncryptAll("the-admin");

    assertThat(refused)
        .singleElement()
        .satisfies(
            e ->
                assertThat(e)
                    .hasMessageContaining("already running on this instance (by the-admin since"));
    assertThat(result.reEncrypted()).isZero();
    // Once finished, a new pass may start.
    assertThat(reEncryption.reEncryptAll("another-admin").currentKeyId())
        .isEqualTo(ring.currentKeyId());
  }

  private static String key(String thirtyTwoCharacters) {
    return Base64.getEncoder()
        .encodeToString(thirtyTwoCharacters.getBytes(StandardCharsets.US_ASCII));
  }
}
