package io.quarry.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.http.ProblemDetail;

/**
 * What PostgreSQL refuses becomes the caller's 4xx only when it is about the data sent; the edge
 * validation keeps known cases (a NUL byte) from getting this far, this is the net behind it.
 */
class ApiErrorsTest {

  private final ApiErrors errors = new ApiErrors();

  @Test
  void aDataExceptionIsABadRequestThatSaysWhatIsRefused() {
    ProblemDetail problem = errors.dataIntegrity(refused("22021"));
    assertThat(problem.getStatus()).isEqualTo(400);
    assertThat(problem.getDetail()).contains("SQLState 22021").contains("NUL");
  }

  @Test
  void anIntegrityConstraintIsAConflict() {
    assertThat(errors.dataIntegrity(refused("23505")).getStatus()).isEqualTo(409);
  }

  @Test
  void anythingElseStaysAServerError() {
    DataIntegrityViolationException other = refused("XX000");
    assertThatThrownBy(() -> errors.dataIntegrity(other)).isSameAs(other);
  }

  private static DataIntegrityViolationException refused(String sqlState) {
    return new DataIntegrityViolationException(
        "refused", new SQLException("refused by PostgreSQL", sqlState));
  }
}
