// The deep query of the classic federation workload: every level crosses a subgraph boundary
// (users → reviews → products and inventory → reviews → accounts → reviews → products and inventory).
export const deepQuery = /* GraphQL */ `
  fragment UserFields on User { id username name }
  fragment ReviewFields on Review { id body }
  fragment ProductFields on Product { inStock name price shippingEstimate upc weight }
  query Deep {
    users {
      ...UserFields
      reviews {
        ...ReviewFields
        product {
          ...ProductFields
          reviews { ...ReviewFields author { ...UserFields reviews { ...ReviewFields product { ...ProductFields } } } }
        }
      }
    }
    topProducts {
      ...ProductFields
      reviews { ...ReviewFields author { ...UserFields reviews { ...ReviewFields product { ...ProductFields } } } }
    }
  }
`;

/** The request body every client of the load sends. */
export const deepQueryBody = JSON.stringify({ query: deepQuery, operationName: 'Deep' });
