package io.quarry.user;

import java.security.Principal;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Token key rotation: {@code POST /api/admin/token-keys/re-encrypt} moves every stored access token
 * to the current key (admin role, CSRF token) and answers what it did; keys and tokens never appear
 * in the answer.
 */
@RestController
@RequestMapping("/api/admin/token-keys")
public class TokenKeyController {

  private final TokenReEncryption reEncryption;

  public TokenKeyController(TokenReEncryption reEncryption) {
    this.reEncryption = reEncryption;
  }

  @PostMapping("/re-encrypt")
  public TokenReEncryption.Result reEncrypt(Principal user) {
    return reEncryption.reEncryptAll(user.getName());
  }

  @ExceptionHandler(TokenReEncryption.AlreadyRunningException.class)
  ProblemDetail alreadyRunning(TokenReEncryption.AlreadyRunningException e) {
    return ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, e.getMessage());
  }
}
