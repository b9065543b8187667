import { useTitle } from '../hooks.js';
import { Link } from '../router.js';

export function NotFoundPage() {
  useTitle('Not found');
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/">Go to the incidents list</Link>.
      </p>
    </>
  );
}
