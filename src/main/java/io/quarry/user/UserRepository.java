package io.quarry.user;

import io.quarry.security.TokenCipher;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

/** Users and their encrypted access tokens. Tokens go in and out only through here. */
@Repository
public class UserRepository {

  private final JdbcClient jdbc;
  private final TokenCipher cipher;

  public UserRepository(JdbcClient jdbc, TokenCipher cipher) {
    this.jdbc = jdbc;
    this.cipher = cipher;
  }

  /** Creates the user or replaces its token (and re-activates it); returns its id. */
  @Transactional
  public long upsert(String externalId, String accessToken) {
    return jdbc.sql(
            """
            insert into app_user (external_id, access_token, active, needs_reauthorization)
            values (:externalId, :token, true, false)
            on conflict (external_id) do update
               set access_token = excluded.access_token, active = true,
                   needs_reauthorization = false, updated_at = now()
            returning id
            """)
        .param("externalId", externalId)
        .param("token", cipher.encrypt(accessToken))
        .query(Long.class)
        .single();
  }

  /** Where the user's digest mail goes. */
  public void setEmail(long userId, String email) {
    jdbc.sql("update app_user set email = :email, updated_at = now() where id = :id")
        .param("email", email)
        .param("id", userId)
        .update();
  }

  /** A user's token as stored (encrypted). */
  public record StoredToken(long userId, byte[] sealed) {
    @Override
    public String toString() {
      return "StoredToken[user=" + userId + "]";
    }
  }

  /** A token re-encrypted: {@code sealed} replaces {@code read} if the user still has that. */
  public record Replacement(long userId, byte[] read, byte[] sealed) {
    @Override
    public String toString() {
      return "Replacement[user=" + userId + "]";
    }
  }

  /**
   * Up to {@code limit} users that have a token, with ids above {@code afterId}, in id order: one
   * page of a walk over every token that never holds them all in memory.
   */
  public List<StoredToken> tokensAfter(long afterId, int limit) {
    return jdbc.sql(
            """
            select id, access_token from app_user
             where id > :after and access_token is not null
             order by id limit :limit
            """)
        .param("after", afterId)
        .param("limit", limit)
        .query((rs, row) -> new StoredToken(rs.getLong(1), rs.getBytes(2)))
        .list();
  }

  /**
   * Stores re-encrypted tokens, each only if the user's token is still the value that was read
   * (compare and set in one statement): a token registered meanwhile is newer and already under the
   * current key, and is kept. {@code updated_at} stays: the user did not change.
   *
   * @return how many tokens were replaced
   */
  @Transactional
  public int replaceTokens(List<Replacement> replacements) {
    if (replacements.isEmpty()) {
      return 0;
    }
    return jdbc.sql(
            """
            update app_user u set access_token = r.sealed
              from unnest(:ids, :read, :sealed) as r(id, read, sealed)
             where u.id = r.id and u.access_token = r.read
            """)
        .param("ids", replacements.stream().map(Replacement::userId).toArray(Long[]::new))
        .param("read", replacements.stream().map(Replacement::read).toArray(byte[][]::new))
        .param("sealed", replacements.stream().map(Replacement::sealed).toArray(byte[][]::new))
        .update();
  }

  /** The user's access token in clear, for the platform call only; never log it. */
  public Optional<String> accessToken(long userId) {
    return jdbc.sql("select access_token from app_user where id = :id and access_token is not null")
        .param("id", userId)
        .query((rs, row) -> rs.getBytes(1))
        .optional()
        .map(cipher::decrypt);
  }
}
