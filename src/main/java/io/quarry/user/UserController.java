package io.quarry.user;

import io.quarry.web.Inputs;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Email;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * Registers a platform user to mine, or replaces the token of one (admin role, CSRF token). The
 * token is stored encrypted and never returned.
 */
@RestController
@RequestMapping("/api/users")
public class UserController {

  /** A user as registered by an operator or the auth service. */
  public record Registration(
      @NotBlank
          @Size(max = 200)
          @Pattern(
              regexp = Inputs.NO_CONTROL_CHARACTERS,
              message = Inputs.NO_CONTROL_CHARACTERS_MESSAGE)
          String externalId,
      @NotBlank
          @Size(max = 4096)
          @Pattern(
              regexp = Inputs.NO_CONTROL_CHARACTERS,
              message = Inputs.NO_CONTROL_CHARACTERS_MESSAGE)
          String accessToken,
      @Email String email) {
    @Override
    public String toString() {
      return "Registration[" + externalId + "]"; // never the token
    }
  }

  private final UserRepository users;

  public UserController(UserRepository users) {
    this.users = users;
  }

  @PostMapping
  @ResponseStatus(HttpStatus.CREATED)
  public Map<String, Object> register(@Valid @RequestBody Registration registration) {
    long id = users.upsert(registration.externalId(), registration.accessToken());
    if (registration.email() != null) {
      users.setEmail(id, registration.email());
    }
    return Map.of("id", id, "externalId", registration.externalId());
  }
}
